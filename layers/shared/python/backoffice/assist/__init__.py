"""Governed AI assist (issue #23): recommend-only suggestions beside the rules, from the local rules or Bedrock.

- ``models``: what each use is given and suggests (``ApprovalContext`` -> ``ApprovalSummary``, sentences ->
  ``ClauseSuggestion``, ``DocumentText`` -> ``DocumentSuggestion``, ``AnomalyContext`` -> ``Explanation``);
- ``port``: the ``Assistant`` protocol; ``local``: the rules and templates; ``bedrock``: the Converse API;
- ``governance``: masking, the audit record (``ai.suggested``, its fields documented there), metrics, fallback;
- ``config``: the firm document's ``ai_assist`` section; ``wiring.assistant(use, case, trail=...)``: the one way in;
- ``prompts/<task>.v<N>.txt``: the versioned prompts (prompt id ``<task>.v<N>``).

Nothing here decides: no suggestion approves, blocks, pays or files anything.
"""
