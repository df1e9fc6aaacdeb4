"""One file per schema revision; never edit a released revision, add a new one."""
