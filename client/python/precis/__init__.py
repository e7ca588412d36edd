"""precis: the Python client of the Precis retrieval server.

    import precis
    with precis.Client("127.0.0.1", 7878) as c:
        c.create_collection("docs", dim=384)
        c.upsert("docs", ids, vectors, texts=texts, metadata=metas)
        items = c.retrieve("docs", qvec, k=8, token_budget=2000)

Errors raise a subclass of precis.PrecisError, one per status code
(precis.NotFound, precis.InvalidArgument, precis.Unauthenticated, ...).
See docs/PYTHON.md.
"""
from ._status import *  # noqa: F401,F403  (generated exception classes)
from ._status import BY_CODE as STATUS_CLASSES  # noqa: F401
from .client import Client, GetResult, Hit, Item, Point, RetrieveResult  # noqa: F401
from .errors import PrecisError  # noqa: F401
from .retriever import Document, PrecisRetriever  # noqa: F401

__version__ = "0.1.0"
