"""Family patients, real-name verification, addresses, and the patient back office (PT-05, PT-07, AD-02)."""
