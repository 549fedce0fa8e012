"""Smart queue and triage (智能排队分诊, QU-01…QU-06, PT-15): check-in, ordering rules, calling with an
announcement, screens, and live positions for patients. See docs/developer/queue.md."""
