"""Project onboarding: from a closed-won opportunity to a project ready to staff and bill."""
