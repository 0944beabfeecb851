"""The commands of ``zhenggai``, one module per noun group, registered on the root group by
:mod:`zhenggai.cli`.

A command parses its arguments, asks the Engine, and prints the answer through
:mod:`.render` (or as JSON).  No rule lives here: every check is the Engine's, and every
refusal travels up as the engine's own error, shown and turned into an exit status in one
place (:class:`zhenggai.cli.Failure`).
"""
