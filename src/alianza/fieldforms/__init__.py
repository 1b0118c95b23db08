"""Field forms for ODK Collect / KoboToolbox: XLSForms built from the programme\x27s lists, and\ntheir submissions parsed into typed records (pure: no database)."""
