"""The HTTP service OA systems drive zhenggai through (``zhenggai serve``): a thin FastAPI
layer over the same Engine; every rule stays in the engine and the workflow."""
