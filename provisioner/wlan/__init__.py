"""WLAN through its controller: the school's SSIDs applied, read back and watched there."""
