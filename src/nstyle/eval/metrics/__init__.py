"""The field's measures of style transfer, each on CPU or CUDA and in batches of RGB images in 0..1.

lpips.py       LPIPS v0.1 (AlexNet), and on grayscale copies: the content term of ArtFID
fid.py         FID and KID on the FID Inception's pool features, ArtFID (proxy) = (1 + LPIPS) (1 + FID)
cfsd.py        CFSD: relu3_1 self-similarity kept from content to result (KL), in row blocks
histogram.py   HistoGAN's RGB-uv histogram and its Hellinger distance: colour taken from the style
style.py       the judge's Gram style distance on a network the run did not optimise
leak.py        object leak: the painting's objects painted into the result in place (issue 31)

``nstyle.eval.evaluate`` runs them all over a folder of results (``nstyle evaluate``).
"""

from .cfsd import CFSD, self_similarity_kl
from .fid import InceptionFeatures, art_fid_proxy, frechet_distance, kernel_inception_distance
from .histogram import hellinger, rgbuv_histogram
from .leak import ObjectLeak
from .lpips import LPIPS, grayscale
from .style import CrossNetworkStyle

__all__ = ["CFSD", "self_similarity_kl", "InceptionFeatures", "art_fid_proxy", "frechet_distance",
           "kernel_inception_distance", "hellinger", "rgbuv_histogram", "LPIPS", "grayscale", "CrossNetworkStyle",
           "ObjectLeak"]
