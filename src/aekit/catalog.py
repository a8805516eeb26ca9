"""What aekit has and where it looks for data, readable without importing torch.

`aekit --version`, `aekit models`, `aekit datasets` and `aekit experiment list` read these tables
instead of the registries, which import torch (2.4 s and 650 MB for `--version`).
tests/test_bad_inputs.py checks that each table equals its registry, so they stay in sync.
"""

from __future__ import annotations

import os
from pathlib import Path

from .errors import ConfigError

# model name -> the first line of its class docstring
MODELS = {
    "aae": "Adversarial autoencoder: a discriminator on the codes pushes them to a Gaussian prior.",
    "contractive": ("Dense autoencoder penalising the squared Frobenius norm of the encoder's "
                    "Jacobian dz/dx."),
    "conv": ("Convolutional autoencoder: conv + max-pool down, upsample / transposed conv / unpool "
             "back up."),
    "cvae": "Conditional VAE: encoder and decoder see the label, so it generates a chosen class.",
    "denoising": ("Dense autoencoder trained to reconstruct clean inputs from corrupted copies of "
                  "them."),
    "dense": "Fully connected autoencoder, shallow or deep, with a mirrored or its own decoder.",
    "iwae": ("Importance-weighted autoencoder: the VAE trained on the tighter k-sample bound on "
             "log p(x)."),
    "linear": ("Undercomplete linear autoencoder; trained with MSE its decoder spans the PCA "
               "subspace."),
    "sparse-kl": ("Sigmoid autoencoder whose code units are pushed to a low mean activation rho by "
                  "a KL penalty."),
    "sparse-l1": ("Dense autoencoder with an L1 penalty on the code activations, so few units fire "
                  "per input."),
    "tied": ("Dense autoencoder with tied weights: each decoder layer applies an encoder matrix "
             "transposed."),
    "vae": ("Variational autoencoder: Gaussian code, reparameterised sampling, KL to N(0, I) with "
            "beta and warm-up."),
    "vq-vae": ("Vector-quantised autoencoder: EMA codebook, commitment loss, dead-code restarts, "
               "Markov prior over indices."),
    "wae": ("Wasserstein autoencoder (WAE-MMD): codes matched to a Gaussian prior by an IMQ-kernel "
            "MMD penalty."),
}
# the other models: kind -> {name -> summary}; they train on labels (aekit experiment, the estimators)
OTHER_MODELS = {
    "semi-supervised": {
        "ladder": ("Ladder network: clean and noisy encoders share weights; a decoder denoises every layer "
                   "(Rasmus et al. 2015)."),
        "m2": ("Semi-supervised VAE M2: classifier q(y|x), encoder q(z|x,y), decoder p(x|y,z); also on an M1 "
               "encoder."),
    },
    "classifier": {
        "encoder-classifier": "A pretrained (or fresh) autoencoder's encoder followed by a linear softmax layer.",
    },
}

# data set name -> its one-line summary
DATASETS = {
    "bbc-news": ("BBC News, 2,225 articles in 5 topics (Greene & Cunningham 2006); TF-IDF of 2,000 "
                 "words, seeded stratified 80/20 split"),
    "bbc-news-bow": "BBC News as binary bags of its 2,000 most frequent words, 80/20 split",
    "cifar10": "CIFAR-10 colour photos in 10 classes, 50,000 + 10,000, 3x32x32 (Krizhevsky 2009)",
    "cifar100": "CIFAR-100 colour photos in 100 classes, 50,000 + 10,000, 3x32x32 (Krizhevsky 2009)",
    "digits": ("scikit-learn's 1,797 8x8 handwritten digits (shipped with scikit-learn); test = "
               "last 20%"),
    "fashion-mnist": "Fashion-MNIST clothing images, 60,000 + 10,000, 1x28x28 (MIT, Zalando)",
    "imdb": ("IMDb movie reviews, 25,000 + 25,000, negative/positive; word-index sequences (512 "
             "words, 10,000-word vocabulary) scaled to [0, 1]"),
    "imdb-bow": "IMDb movie reviews as multi-hot bags of the 10,000 most frequent words",
    "kmnist": ("Kuzushiji-MNIST cursive Japanese characters, 60,000 + 10,000, 1x28x28 (CC BY-SA "
               "4.0)"),
    "mnist": "MNIST handwritten digits, 60,000 + 10,000, 1x28x28 (CC BY-SA 3.0)",
    "mnist-mini": ("10,000 MNIST training + 2,000 test digits shipped inside aekit, 1x28x28 (CC "
                   "BY-SA 3.0); no network needed"),
    "svhn": "SVHN house-number digits cropped from Street View, 73,257 + 26,032, 3x32x32 (Netzer et al. 2011)",
}

# data set name -> the folders under the data directory that hold its files (none: shipped with aekit)
DATA_FOLDERS = {
    "bbc-news": ("bbc-news",), "bbc-news-bow": ("bbc-news",), "cifar10": ("cifar10", "cifar-10-batches-py", "cifar-10-batches-bin"),
    "cifar100": ("cifar100", "cifar-100-python"), "digits": (), "fashion-mnist": ("fashion-mnist",),
    "imdb": ("imdb", "aclImdb"), "imdb-bow": ("imdb", "aclImdb"), "kmnist": ("kmnist",),
    "mnist": ("mnist",), "mnist-mini": (), "svhn": ("svhn",),
}

# experiment name -> its one-line summary
EXPERIMENTS = {
    "cifar-deep": ("CIFAR-10 deep dense autoencoder with batch norm and dropout "
                   "(configs/cifar-deep.yaml): reconstructions and a 2-D code map"),
    "conv-mnist": ("conv autoencoder decoders compared: nearest upsampling, transposed conv, "
                   "max-unpooling"),
    "denoising-mnist": ("denoising autoencoders for gaussian / masking / salt-and-pepper noise: "
                        "pictures and PSNR vs a plain AE"),
    "generate-mnist-grid": ("a 2-d VAE (or autoencoder): decoded latent grid (digit manifold), "
                            "random samples, interpolation"),
    "generative-mnist": ("generative autoencoders on MNIST: test NLL, Fréchet distance, "
                         "precision/recall, reconstruction, time"),
    "imdb-bn-dropout": ("IMDb dense autoencoder (512-256-128-256-512, BCE): learning curves "
                        "with/without batch norm, dropout, adam vs adagrad"),
    "mnist-2d": ("2-d codes of a deep autoencoder vs PCA's 2-d map, coloured by digit, and the "
                 "decoded code grid"),
    "mnist-deep-vs-pca": ("784-1000-500-250-30 autoencoder vs PCA-30: squared error per test image "
                          "and originals / AE / PCA rows"),
    "pretrain-mnist": ("Greedy denoising pretraining vs training from scratch vs a frozen encoder, "
                       "at 100-60000 labels"),
    "retrieval-bbc": ("BBC News document retrieval: 10-d autoencoder codes vs raw TF-IDF vs LSA-10 "
                      "and LSA-50 (Hinton & Salakhutdinov 2006)"),
    "retrieval-mnist": ("MNIST retrieval by label: raw pixels vs PCA vs autoencoder codes (cosine "
                        "and euclidean), precision@k and MAP"),
    "semi-supervised-mnist": ("Few labels: supervised MLP, SdA, M1+M2 and the ladder network at "
                              "100-60000 MNIST labels (mean ± std, time per run)"),
    "self-taught-mnist": ("Sparse-autoencoder features learnt on digits 5-9, logistic regression "
                          "on digits 0-4 (UFLDL)"),
    "sparse-mnist": ("KL-sparse 784-200 sigmoid autoencoder vs the same without the penalty: "
                     "activations and first-layer weights"),
    "tied-mnist": ("tied vs untied decoder weights: parameters, test error, learning curves, "
                   "reconstructions"),
}


def data_dir() -> Path:
    """Where data sets live: $AEKIT_DATA_DIR, else the user's cache folder (e.g. ~/.cache/aekit)."""
    env = os.environ.get("AEKIT_DATA_DIR")
    if env:
        if Path(env).expanduser().is_file():  # (a CLI hunt: listed as the data directory, then "put the files there")
            raise ConfigError(f"AEKIT_DATA_DIR={env} is a file; set it to the folder that holds (or will hold) the "
                              "data sets")
        return Path(env).expanduser()
    try:
        cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    except RuntimeError:  # no HOME, and none in the user database (a locked-down trial: "unexpected")
        raise ConfigError("the data sets' folder: this user has no home folder (HOME is not set and the user database "
                          "names none); set AEKIT_DATA_DIR to the folder that holds the data sets") from None
    return Path(cache) / "aekit"


def cache_dir() -> Path:
    """aekit's own cache folder (~/.cache/aekit on Linux, the system's own elsewhere): the feature classifiers and
    the marks of the files a user imported with aekit; a one-line error where this user has no home to hold it."""
    import pooch

    try:
        return Path(pooch.os_cache("aekit"))
    except RuntimeError:  # (platformdirs: no HOME and none in the user database; a locked-down trial: "unexpected")
        raise ConfigError("aekit's cache folder: this user has no home folder (HOME is not set and the user database "
                          "names none); set HOME or XDG_CACHE_HOME to a folder that can be written") from None


def data_state(name: str) -> str:
    """Whether a named data set's files are here: "shipped", "here" (its folder holds files) or "absent"."""
    folders = DATA_FOLDERS[name]
    if not folders:
        return "shipped"
    root = data_dir()
    present = any((root / f).is_dir() and any(not p.name.startswith((".", "tmp")) for p in (root / f).iterdir())
                  for f in folders)  # (pooch's tmpXXXX: a download cut short)
    return "here" if present else "absent"
