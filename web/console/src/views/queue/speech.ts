/**
 * Speaking the calls on a screen with the browser's speech synthesis, in Chinese. Browsers speak only
 * after one user action on the page (or with Chromium's autoplay flag): the screen asks for one click.
 */

export interface Speaker {
  readonly available: boolean
  speak(text: string): void
}

export function browserSpeaker(synth: SpeechSynthesis | undefined = globalThis.speechSynthesis): Speaker {
  const Utterance = globalThis.SpeechSynthesisUtterance
  return {
    available: Boolean(synth && Utterance),
    speak(text: string) {
      if (!synth || !Utterance) return
      const utterance = new Utterance(text)
      utterance.lang = 'zh-CN'
      utterance.rate = 0.9
      const voice = synth.getVoices().find((v) => v.lang.toLowerCase().replace('_', '-').startsWith('zh-cn'))
      if (voice) utterance.voice = voice
      synth.speak(utterance)
    },
  }
}
