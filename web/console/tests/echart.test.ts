import { mount } from '@vue/test-utils'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import EChart from '@/components/EChart.vue'

describe('EChart', () => {
  // happy-dom lays nothing out: give every element a size for ECharts to draw into.
  const sizes = ['clientWidth', 'clientHeight'] as const
  beforeAll(() => {
    for (const size of sizes) Object.defineProperty(HTMLElement.prototype, size, { configurable: true, get: () => 300 })
  })
  afterAll(() => {
    for (const size of sizes) Reflect.deleteProperty(HTMLElement.prototype, size)
  })

  it('draws a chart with the registered components', () => {
    const wrapper = mount(EChart, {
      props: {
        renderer: 'svg',
        option: {
          xAxis: { type: 'category', data: ['一月', '二月'] },
          yAxis: { type: 'value' },
          series: [{ type: 'bar', data: [3, 5] }],
        },
      },
      attachTo: document.body,
    })

    expect(wrapper.find('svg').exists()).toBe(true)
    expect(wrapper.html()).toContain('二月')
    wrapper.unmount()
  })
})
