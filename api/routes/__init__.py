"""The API's routes, one module per resource, each an ``APIRouter`` that
:func:`zhenggai.api.app.create_app` includes (in this order, the order of the OpenAPI document):
:mod:`.service`, :mod:`.workflows`, :mod:`.rounds`, :mod:`.issues`, :mod:`.sweep`."""
