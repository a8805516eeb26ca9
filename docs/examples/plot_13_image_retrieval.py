"""
13. Image retrieval by codes
============================

An autoencoder's codes are a compact index: to find images like a query, encode it and look for
the nearest codes (:class:`aekit.analysis.retrieval.CodeIndex`, cosine distance). Relevance is measured by
labels the model never saw: a retrieved digit is a hit when it is the same digit as the query.
"""

# %%
import numpy as np
from _budget import BUDGET, choose

import aekit
from aekit.analysis import image_grid
from aekit.analysis.retrieval import CodeIndex, compare_retrieval
from aekit.data import load_dataset

data = load_dataset("mnist-mini", "train").take(choose(tiny=512, full=None), seed=0)
train, val = data.split(0.1, seed=0)
test = load_dataset("mnist-mini", "test")
print(f"budget {BUDGET}: index of {len(train)} training digits, queries from the {len(test)} test digits (mnist-mini)")

model = aekit.create_model("dense", input_shape=train.sample_shape, hidden=[500, 250], code_size=30,
                           activation="elu")
history = aekit.fit(model, train, val, epochs=choose(tiny=2, full=20), batch_size=128, lr=1e-3, seed=0,
                    progress=False)
print(f"final validation loss {history['val_loss'][-1]:.1f}")

# %%
# Eight queries and their nearest neighbours
# ------------------------------------------
index = CodeIndex(model).fit(train)
queries = test.x[:8]
_, neighbours = index.query(queries, k=8)                    # (8 queries, 8 nearest)
rows = np.concatenate([queries.numpy()[:, None], train.x.numpy()[neighbours]], axis=1)
fig = image_grid(rows, title="Each row: a test digit (left), then the training digits with the nearest 30-d codes",
                 row_labels=[f"query {int(y)}" for y in test.y[:8]],
                 col_labels=["query", *[str(i + 1) for i in range(8)]])

# %%
# Scores against raw pixels and PCA
# ---------------------------------
# precision@10 (the share of the ten nearest that are the query's digit) and mean average
# precision over the whole ranking, for 1,000 test queries against the training digits.
rows = compare_retrieval(model, train, test, k=10, methods=("raw", "pca", "ae"),
                         max_queries=choose(tiny=100, full=1000))
for row in rows:
    print(f"{row['method']:>4} ({row['dim']:3d} numbers): precision@10 {row['precision@10']:.3f}, MAP {row['map']:.3f}")

# %%
# The neighbours mostly share the query's digit and often its style (slant, stroke width). On
# full MNIST (``aekit experiment run retrieval-mnist``, docs/EXPERIMENTS.md) the 30-d codes beat
# both the 784 raw pixels and PCA's 30 numbers, on precision@10 and even more on mean average
# precision (the quality of the whole ranking); the printed scores are this page's.
#
# **Try next:** ``CodeIndex(model, metric="euclidean")``; a 2-d code (lesson 3) as the index;
# ``aekit experiment run retrieval-mnist`` on full MNIST.
