"""precis.PrecisRetriever: the LangChain retriever shape, without LangChain."""
import sys

import pytest

import precis

WORDS = ["apple", "banana", "cherry", "durian", "elderberry", "fig", "grape",
         "kiwi", "lemon", "mango", "nectarine", "orange", "papaya", "quince"]


def embed(text):
    """A toy embedding: letter counts (deterministic, no model needed)."""
    v = [0.0] * 26
    for ch in text.lower():
        if "a" <= ch <= "z":
            v[ord(ch) - 97] += 1.0
    v[0] += 0.01
    return v


class LangChainStyleEmbeddings:
    def embed_query(self, text):
        return embed(text)


@pytest.fixture
def fruit(client, coll):
    client.create_collection(coll, dim=26, index_spec="Flat")
    client.upsert(coll, list(range(len(WORDS))), [embed(w) for w in WORDS],
                  texts=["%s is a fruit" % w for w in WORDS],
                  metadata=[{"word": w, "source": "list", "id": "user-id"} for w in WORDS],
                  tokens=[5] * len(WORDS))
    return coll


def test_invoke_returns_documents(client, fruit):
    r = precis.PrecisRetriever(client, fruit, embed, k=4, mode="topk")
    docs = r.invoke("banana")
    assert len(docs) == 4
    d = docs[0]
    assert d.page_content == "banana is a fruit"
    assert d.metadata["word"] == "banana" and d.metadata["source"] == "list"
    assert d.metadata["id"] == 1  # the point id wins over the point's own "id" key
    assert d.id == "1"
    assert d.metadata["relevance"] > 0 and d.metadata["hops"] == 0
    assert d.metadata["represents"] >= 1 and isinstance(d.metadata["represented_ids"], list)
    assert [x.metadata["similarity"] for x in docs] == sorted(
        (x.metadata["similarity"] for x in docs), reverse=True)
    assert r.last_result.pool_size >= 4
    assert r.get_relevant_documents("banana") == docs
    assert r.batch(["banana", "kiwi"])[1][0].metadata["word"] == "kiwi"


def test_token_budget_and_embeddings_object(client, fruit):
    r = precis.PrecisRetriever(client, fruit, LangChainStyleEmbeddings(), k=10, token_budget=12)
    docs = r.invoke("mango")
    assert 1 <= len(docs) <= 2  # 5 tokens each within 12
    assert r.invoke("mango", token_budget=100, k=3) and len(r.invoke("mango", k=3, token_budget=100)) == 3


def test_custom_document_class(client, fruit):
    class Doc:
        def __init__(self, page_content, metadata):
            self.page_content, self.metadata = page_content, metadata
    docs = precis.PrecisRetriever(client, fruit, embed, k=2, document_class=Doc).invoke("fig")
    assert isinstance(docs[0], Doc) and docs[0].page_content == "fig is a fruit"


def test_does_not_import_langchain(client, fruit):
    precis.PrecisRetriever(client, fruit, embed).invoke("lemon")
    assert not any(m.startswith(("langchain", "llama_index")) for m in sys.modules)


def test_bad_embed():
    with pytest.raises(TypeError):
        precis.PrecisRetriever(None, "x", object())
