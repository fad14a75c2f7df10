"""Back-office workflow automation: the shared package of every Lambda handler and of the local runtime."""
