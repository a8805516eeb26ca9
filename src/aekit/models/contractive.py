"""Contractive autoencoder: penalise the encoder's Jacobian dz/dx so codes ignore small input changes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import Tensor

from ..config import check, check_types, non_negative
from ..errors import ConfigError
from ..registry import register_model
from .base import Activation, Output, flatten
from .dense import DenseAutoencoder, DenseConfig, linears

CLOSED_FORM_ACTIVATIONS = ("sigmoid", "tanh", "linear")  # slopes computable from the code itself


@dataclass(frozen=True, kw_only=True)
class ContractiveConfig(DenseConfig):
    hidden: tuple[int, ...] = ()  # Rifai et al.: one sigmoid layer, whose Jacobian has a closed form
    code_size: int = 1000
    activation: Activation = "sigmoid"
    code_activation: Activation = "sigmoid"
    contractive_weight: float = 0.1  # lambda: the penalty is lambda * mean over the batch of ||dz/dx||_F^2
    no_linear_path: ClassVar[str] = "contractive (its penalty is the Jacobian of the encoder's layers alone)"

    def __post_init__(self) -> None:
        check_types(self)  # (the base checks them too; this check reads batch_norm first)
        check(  # first: DenseConfig's own advice for a shallow model's batch_norm does not hold here
            not any(self.batch_norm if isinstance(self.batch_norm, tuple) else (self.batch_norm,)),
            "batch_norm",
            "not allowed in a contractive encoder: batch statistics mix samples, so dz/dx is not "
            "per-sample; decoder_batch_norm puts it in the decoder's hidden layers",
        )
        super().__post_init__()
        non_negative("contractive_weight", self.contractive_weight)


@register_model("contractive")
class ContractiveAutoencoder(DenseAutoencoder):
    """Dense autoencoder penalising the squared Frobenius norm of the encoder's Jacobian dz/dx.

    Rifai et al. (2011), Contractive auto-encoders: explicit invariance during feature extraction, ICML.
    """

    Config = ContractiveConfig

    def __init__(self, config: ContractiveConfig) -> None:
        super().__init__(config)
        layers = config.encoder_layers()
        # One layer z = f(Wx + b): J = diag(f'(a)) W, so ||J||^2 = sum_j f'(a_j)^2 ||W_j||^2 exactly.
        self.closed_form = (
            len(layers) == 1 and layers[0].activation in CLOSED_FORM_ACTIVATIONS and layers[0].dropout == 0
        )

    def forward(self, x: Tensor) -> Output:
        x_flat = flatten(x)
        # compiled (train.compile), the penalty encodes x again: a compiled graph's backward cannot be vmapped
        reuse = not torch.compiler.is_compiling()
        needs_graph = (reuse and self.training and self.config.contractive_weight > 0 and not self.closed_form and
                       torch.is_grad_enabled())  # (in eval mode the penalty encodes again: vmap and grad take forward)
        if needs_graph and not x_flat.requires_grad:
            x_flat = x_flat.detach().requires_grad_(True)  # so the penalty can differentiate z by x
        z = self.encoder(x_flat)
        logits = self.decode_logits(z)
        return Output(x_hat=self.activate_output(logits), z=z, logits=logits, extras={"x_flat": x_flat} if reuse else {})

    def penalties(self, x: Tensor, output: Output) -> dict[str, Tensor]:
        terms = super().penalties(x, output)
        if self.config.contractive_weight > 0:
            terms["contractive"] = self.config.contractive_weight * self.jacobian_norm(x, output)
        return terms

    def jacobian_norm(self, x: Tensor, output: Output | None = None) -> Tensor:
        """||dz/dx||_F^2 averaged over the batch; differentiable when grad is on.

        With `output` from `forward(x)` it reuses that pass (same dropout masks); otherwise (or after a
        compiled forward) it encodes `x` again.
        """
        if self.closed_form:
            return self._closed_form_norm(output.z if output is not None else self.encode(x))
        x_flat = output.extras.get("x_flat") if output is not None else None
        if x_flat is not None and x_flat.requires_grad and output.z.requires_grad:
            return self._autograd_norm(x_flat, output.z, create_graph=True)
        if torch.is_inference_mode_enabled():  # (enable_grad cannot lift it: torch's "does not require grad", a hunt)
            raise ConfigError("contractive: its penalty differentiates the codes by the inputs, which torch.inference_mode "
                              "forbids; compute the loss under torch.no_grad() instead")
        grad_on = torch.is_grad_enabled()
        with torch.enable_grad():  # also under no_grad (evaluation): the norm needs dz/dx
            x_flat = flatten(x).detach().requires_grad_(True)
            norm = self._autograd_norm(x_flat, self.encoder(x_flat), create_graph=grad_on)
        return norm if grad_on else norm.detach()

    def _closed_form_norm(self, z: Tensor) -> Tensor:
        weight = linears(self.encoder)[0].weight  # (k, D)
        name = self.config.code_activation
        slope = z * (1 - z) if name == "sigmoid" else 1 - z**2 if name == "tanh" else torch.ones_like(z)
        return (slope.pow(2) * weight.pow(2).sum(dim=1)).sum(dim=1).mean()  # (B, k) * (k,) -> scalar

    @staticmethod
    def _autograd_norm(x_flat: Tensor, z: Tensor, *, create_graph: bool) -> Tensor:
        """One batched backward pass per code unit (vmapped): rows of every sample's Jacobian at once."""
        k, batch = z.shape[1], z.shape[0]
        basis = torch.eye(k, dtype=z.dtype, device=z.device).unsqueeze(1).expand(k, batch, k)  # (k, B, k)
        # Samples are independent (no batch norm in the encoder), so d(sum_b z_bj)/dx_b = dz_bj/dx_b.
        (jac,) = torch.autograd.grad(
            z, x_flat, grad_outputs=basis, create_graph=create_graph, is_grads_batched=True
        )  # (k, B, D)
        return jac.pow(2).sum(dim=(0, 2)).mean()
