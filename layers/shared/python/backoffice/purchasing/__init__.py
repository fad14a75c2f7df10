"""Purchase approval (#22): a purchase request (a subcontractor's work order, software, travel above the firm's
limit) approved, ordered in the ERP and mailed to the vendor. See ``statemachines/purchase_approval.asl.json``:

    check_request      the request against the purchasing policy and the project; can the vendor be bought from?
    (vendor_waits)     a vendor not yet approved: its onboarding is asked for once, the purchase waits for it
    check_budget       committed (open POs) + actual cost + this request vs the project's budget; who approves
    [approval chain]   by amount and category (routing.DEFAULT_ROUTES["purchase_approval"]); never the requester
    create_order       the vendor's purchase order in the ERP, once per request
    notify_vendor      the vendor is mailed its order

Three-way match (the purchase order against the goods receipt and the vendor's bill) is out of scope: the
workflow ends when the order is issued.
"""
