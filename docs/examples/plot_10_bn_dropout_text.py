"""
10. Batch norm and dropout on text (IMDb)
=========================================

A course's lesson on regularisation trains a dense autoencoder on bags of words of IMDb reviews
and compares learning curves with and without batch normalisation and dropout. aekit reads IMDb
from ``$AEKIT_DATA_DIR/imdb/`` (Keras's ``imdb.npz`` or the original ``aclImdb/`` folder); when it
is not there, this lesson runs the same comparison on the BBC News articles (``bbc-news-bow``:
binary bags of their 2,000 most frequent words), if those are there, and says so below. It never
substitutes made-up text.
"""

# %%
from _budget import BUDGET, choose

import aekit
from aekit.analysis import learning_curves
from aekit.data import data_dir, load_dataset

root = data_dir()
has_imdb = (root / "imdb" / "imdb.npz").is_file() or (root / "imdb" / "aclImdb").is_dir() \
    or (root / "aclImdb").is_dir()
name = "imdb-bow" if has_imdb else "bbc-news-bow"
data = load_dataset(name, "train").take(choose(tiny=300, full=None), seed=0)
train, val = data.split(0.2, seed=0)
print(f"budget {BUDGET}: {'IMDb found' if has_imdb else 'IMDb is not in ' + str(root) + ', so this ran on BBC News'}"
      f" — {len(train)} training and {len(val)} validation documents of {name}, "
      f"{train.sample_shape[0]} words each")

# %%
# Three runs of the same network
# ------------------------------
base = dict(input_shape=train.sample_shape, hidden=[256], code_size=64, activation="relu")
variants = {"plain": {}, "batch norm": {"batch_norm": True}, "dropout 0.3": {"dropout": 0.3}}
histories = {}
for label, extra in variants.items():
    model = aekit.create_model("dense", **base, **extra)
    histories[label] = aekit.fit(model, train, val, epochs=choose(tiny=2, full=40), batch_size=64,
                                 lr=1e-3, seed=0, progress=False)

fig = learning_curves(histories, title=f"{name}: dense {train.sample_shape[0]}-256-64 autoencoder, BCE "
                                       "(solid = train, dashed = validation)")

# %%
# On a small corpus the plain model's training loss keeps falling while its validation loss
# levels off and turns up a little: it memorises the training documents. Run at the full budget on
# BBC News with one thread (OMP_NUM_THREADS=1, 2026-12-07), the plain model's validation loss was lowest
# at epoch 36 (289.9) and ended at 292.3; dropout's was close to the plain model's for the first epochs,
# higher from epoch 8 to about 29 (by up to 5.5), then lower (283.8 at the end); batch norm both sped the
# first epochs up (301 against 352 at epoch 5) and ended lowest (247.3). The last digits move with the
# thread count. The first epoch's losses set the scale of the picture: read the later ones against each
# other. The dashed curve can lie *below* the solid one: a training loss is averaged over the epoch
# as the weights move (so at epoch 1 for every model), and batch norm and dropout compute otherwise
# in training than in evaluation.
#
# **Try next:** ``aekit experiment run imdb-bn-dropout`` adds Adagrad and word-index sequences;
# put IMDb's files in ``$AEKIT_DATA_DIR/imdb/`` to run this page on it.
