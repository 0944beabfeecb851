"""What a round looks like to people: charts and the rectification report drafts.

Kept apart from the engine core: it needs the ``report`` extra (matplotlib, python-docx,
docxtpl, Jinja2), which a host that only drives the workflow does not install.
"""
