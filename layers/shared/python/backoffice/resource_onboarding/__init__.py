"""Resource onboarding (issue #22): a worker the HRIS hired becomes a resource the PSA can staff.

``Worker Hired`` (case ``worker-<worker id>``; a rehire is a new attempt on the same case) runs
``statemachines/resource_onboarding.asl.json``:

    check_new_worker (the record, the subcontractor's vendor and documents, the bill rate against the card)
    -> [a bill rate out of band: the practice lead approves]
    -> set_up_psa_resource (create, or on a rehire update, the resource: role, practice, rates, availability,
                            manager, skills)
    -> welcome_new_worker (the first project assignment when a staffing request waits for the role; a welcome
                           mail to the worker and a mail to the manager)

``policy.py`` is what a firm may configure (section ``resource_onboarding``, defaults in code), ``rules.py`` the
decisions as pure functions, ``steps.py`` the steps over the ports.
"""
