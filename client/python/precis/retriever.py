"""precis.PrecisRetriever: the retriever shape LangChain and LlamaIndex code
expects, without importing either.

    retriever = precis.PrecisRetriever(client, "docs", embed, k=8,
                                       token_budget=2000)
    docs = retriever.invoke("how do I restore a snapshot?")
    docs[0].page_content, docs[0].metadata["id"], docs[0].metadata["relevance"]

`embed` is a function str -> vector, or an object with an `embed_query`
method (a LangChain Embeddings). Documents are precis.Document objects with
`page_content`, `metadata` and `id`, the attributes of LangChain's Document;
to hand LangChain its own class, pass `document_class=Document` (any class
accepting page_content= and metadata= keywords).
"""
from .client import Client  # noqa: F401  (for type references in docs)


class Document:
    """A retrieved text: `page_content`, `metadata` (dict) and `id` (str)."""

    __slots__ = ("page_content", "metadata", "id")

    def __init__(self, page_content, metadata=None, id=None):
        self.page_content = page_content
        self.metadata = metadata if metadata is not None else {}
        self.id = id

    def __repr__(self):
        return "Document(id=%r, page_content=%r, metadata=%r)" % (
            self.id, self.page_content[:60], self.metadata)

    def __eq__(self, other):
        return (isinstance(other, Document) and self.page_content == other.page_content
                and self.metadata == other.metadata and self.id == other.id)


# The keys PrecisRetriever adds to each document's metadata; they take
# precedence over keys of the same name in the point's own metadata.
ITEM_KEYS = ("id", "relevance", "similarity", "hops", "via", "link_end", "represents",
             "represented_ids")


class PrecisRetriever:
    """Retrieve a compressed set of documents for a text query.

    `k`, `mode`, `hops`, `token_budget` and any other keyword are passed to
    Client.retrieve() on every call. Each document's metadata is the point's
    metadata plus ITEM_KEYS: its id, relevance, similarity, hops, via, and
    what it stands for (`represents`: the number of pool points,
    `represented_ids`: their ids). `last_result` keeps the most recent
    RetrieveResult (with its set metrics)."""

    def __init__(self, client, collection, embed, k=10, mode="compress", hops=0,
                 token_budget=None, document_class=None, **params):
        self.client = client
        self.collection = collection
        self.embed = embed.embed_query if hasattr(embed, "embed_query") else embed
        if not callable(self.embed):
            raise TypeError("embed must be a callable or have an embed_query method")
        self.params = dict(params, k=k, mode=mode, hops=hops, token_budget=token_budget)
        self.document_class = document_class or Document
        self.last_result = None

    def invoke(self, query, config=None, **overrides):
        """Documents for `query` (a string), in selection order. `overrides`
        replace retrieve parameters for this call; `config` is accepted for
        LangChain's Runnable signature and ignored."""
        vec = self.embed(query)
        res = self.client.retrieve(self.collection, vec, **dict(self.params, **overrides))
        self.last_result = res
        docs = []
        for it in res:
            md = dict(it.metadata)
            md.update(id=it.id, relevance=it.relevance, similarity=it.similarity,
                      hops=it.hops, via=it.via, link_end=it.link_end, represents=it.represents,
                      represented_ids=list(it.represented_ids))
            d = self.document_class(page_content=it.text, metadata=md)
            if getattr(d, "id", None) is None:
                try:
                    d.id = str(it.id)
                except (AttributeError, TypeError, ValueError):
                    pass
            docs.append(d)
        return docs

    def get_relevant_documents(self, query):
        """The older LangChain name of invoke()."""
        return self.invoke(query)

    def batch(self, queries, config=None):
        """invoke() for each query, in order."""
        return [self.invoke(q) for q in queries]

    __call__ = invoke
