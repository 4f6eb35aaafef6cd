"""Regenerate src/impasto/data/vgg19_normalization.npz, the paper's per-filter factors.

    .venv/bin/python scripts/calibrate_normalization.py            # factors from the committed photos
    .venv/bin/python scripts/calibrate_normalization.py --collect  # first re-make the photos

The factors are each filter's mean response over the calibration photographs, computed with
the weights impasto would use (the full-precision file when `impasto weights fetch` has put it
in the cache, else the 8-bit copy). --collect rebuilds the calibration set from the photographs
that ship inside scikit-image and scikit-learn (pip install scikit-image scikit-learn). The
photographs that the tests check the factors on (examples/) are deliberately not among them.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from impasto import normalization, weights
from impasto.images import read_image, resize_long_side, write_image

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "src" / "impasto" / "data"
LONG_SIDE = 384  # large enough for conv5's maps to have many positions, small to ship

# (file name, where it comes from, credit)
PHOTOGRAPHS = [
    ("skimage", "camera.png", "Lav Varshney, CC0 (scikit-image)"),
    ("skimage", "chelsea.png", "Stefan van der Walt, CC0 (scikit-image)"),
    ("skimage", "coffee.png", "Rachel Michetti, CC0 (scikit-image)"),
    ("skimage", "rocket.jpg", "SpaceX, public domain (scikit-image)"),
    ("skimage", "brick.png", "CC0Textures, CC0 (scikit-image)"),
    ("skimage", "grass.png", "CC0Textures, CC0 (scikit-image)"),
    ("skimage", "gravel.png", "CC0Textures, CC0 (scikit-image)"),
    ("sklearn", "china.jpg", "danielbuechele on Flickr, CC BY 2.0 (scikit-learn)"),
    ("sklearn", "flower.jpg", "vultilion on Flickr, CC BY 2.0 (scikit-learn)"),
]


def collect() -> None:
    import skimage.data
    import sklearn.datasets

    folders = {
        "skimage": Path(skimage.data.__file__).parent,
        "sklearn": Path(sklearn.datasets.__file__).parent / "images",
    }
    target = DATA / "calibration"
    target.mkdir(parents=True, exist_ok=True)
    credits = ["# Calibration photographs", "",
               "Real photographs for the per-filter normalisation factors of VGG19,",
               f"resized to {LONG_SIDE} px on the long side. Credits and licences:", ""]  # fmt: skip
    for package, name, credit in PHOTOGRAPHS:
        image = resize_long_side(read_image(folders[package] / name), LONG_SIDE)
        write_image(image, target / (Path(name).stem + ".jpg"))
        credits.append(f"- {Path(name).stem}.jpg: {credit}")
    (target / "CREDITS.md").write_text("\n".join(credits) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--collect", action="store_true", help="re-make the calibration photos")
    parser.add_argument("--weights", help="weights file (default: as impasto chooses)")
    options = parser.parse_args()
    if options.collect:
        collect()
    source = weights.resolve(options.weights)
    factors = normalization.compute_factors(weights.load(source), source)
    output = DATA / normalization.FACTORS_FILE
    normalization.save_factors(factors, output)
    print(f"factors from {len(normalization.calibration_images())} photos with {source.path} -> {output}")


if __name__ == "__main__":
    main()
