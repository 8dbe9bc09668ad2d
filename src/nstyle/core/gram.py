"""Gram matrices over positions, the statistic Gatys et al. match and the second moment the other losses use."""

from __future__ import annotations

import torch


class _PositionGram(torch.autograd.Function):
    """``F^T F / M`` over positions, with a backward that is a single matrix product.

    For channels-last features (what the backbones produce) ``[B, H*W, C]`` is a free view, so neither
    direction copies the feature map, and the gradient comes back channels-last, the layout the
    convolutions' own gradients have (adding gradients of mixed layouts costs as much as a convolution
    at 512 px). Autograd's version of ``bmm(F, F^T)`` took 0.33 s more per evaluation at 512 px.
    """

    @staticmethod
    def forward(ctx, features: torch.Tensor) -> torch.Tensor:
        b, c, h, w = features.shape
        flat = features.permute(0, 2, 3, 1).reshape(b, h * w, c)
        ctx.save_for_backward(flat)
        ctx.shape = (b, c, h, w)
        return torch.bmm(flat.transpose(1, 2), flat) / (h * w)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        (flat,) = ctx.saved_tensors
        b, c, h, w = ctx.shape
        grad_flat = torch.bmm(flat, (grad + grad.transpose(1, 2)) / (h * w))
        return grad_flat.view(b, h, w, c).permute(0, 3, 1, 2)


def gram_matrix(features: torch.Tensor, per_position: bool = False) -> torch.Tensor:
    """``F F^T`` for features [B, C, H, W] -> [B, C, C]; ``per_position`` divides by M = H*W."""
    gram = _PositionGram.apply(features)
    return gram if per_position else gram * (features.shape[-2] * features.shape[-1])


class _PositionMoments(torch.autograd.Function):
    """The per-position Gram ``F^T F / M`` and the mean over positions in one pass, with a backward that is one
    matrix product with the mean's gradient added in it (a separate mean and its broadcast backward took as long as
    the Gram itself at 512 px)."""

    @staticmethod
    def forward(ctx, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        b, c, h, w = features.shape
        flat = features.permute(0, 2, 3, 1).reshape(b, h * w, c)
        ctx.save_for_backward(flat)
        ctx.shape = (b, c, h, w)
        m = h * w
        return torch.bmm(flat.transpose(1, 2), flat) / m, flat.sum(dim=1) / m

    @staticmethod
    def backward(ctx, grad_gram: torch.Tensor, grad_mean: torch.Tensor) -> torch.Tensor:
        (flat,) = ctx.saved_tensors
        b, c, h, w = ctx.shape
        m = h * w
        if grad_gram is None:
            grad_gram = flat.new_zeros(b, c, c)
        if grad_mean is None:
            grad_mean = flat.new_zeros(b, c)
        grad_flat = torch.baddbmm((grad_mean / m).unsqueeze(1), flat, (grad_gram + grad_gram.transpose(1, 2)) / m)
        return grad_flat.view(b, h, w, c).permute(0, 3, 1, 2)


def position_moments(features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The per-position Gram [B, C, C] and mean [B, C] of features [B, C, H, W]: E[y y^T] and E[y]."""
    return _PositionMoments.apply(features)
