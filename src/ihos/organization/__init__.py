"""Organisation (AD-01, DR-02, DR-03, PH-01): hospitals, campuses, department trees, staff and roles."""
