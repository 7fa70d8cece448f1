"""What the report says about each model: a title, the lecture's point, the energy and its free energy.

Formulas are plain Unicode so the page needs no maths library (and no network). A model without an
entry here still gets a section, titled by its name, with its figures, metrics and command.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["MODEL_TEXT", "ModelText", "model_text"]


@dataclass(frozen=True)
class ModelText:
    """A model's section header: ``title``, one paragraph ``about`` it, its ``energy`` and ``free_energy``.

    Example:
        >>> text = ModelText("K-means", "Clusters.", "E(y, z) = ‖y − W z‖²", "F∞(y) = min_k ‖y − w_k‖²")
        >>> text.title, text.free_energy
        ('K-means', 'F∞(y) = min_k ‖y − w_k‖²')
    """

    title: str
    about: str
    energy: str
    free_energy: str


MODEL_TEXT: dict[str, ModelText] = {
    "ellipse": ModelText(
        "The ellipse: a latent-variable energy",
        "Points y lie on an ellipse; the latent z is the angle that explains y. Training the energy loss "
        "mean F(y) fits the radii (w₁, w₂) to the data's (2, 1.5). Move β below: at high temperature "
        "(small β) F_β is the mean energy over all angles and forgets the ellipse; at β = ∞ it is the "
        "squared distance to the ellipse.",
        "E(y, z) = [y₁ − w₁ cos z]² + [y₂ − w₂ sin z]²,   z ∈ {0, π/24, …, 47π/24}",
        "F_β(y) = −(1/β) log( (1/48) Σ_z exp(−β E(y, z)) ),   F_∞(y) = min_z E(y, z)",
    ),
    "kmeans": ModelText(
        "K-means: a one-hot latent",
        "The latent z picks one of K centroids (the rows of W); ž = argmin_z E is the nearest centroid, "
        "and minimising Σ_y F_∞(y) by alternating ž and W is Lloyd's algorithm. At finite β the free "
        "energy is a soft minimum over the centroids and its gradient gives soft assignments.",
        "E(y, z) = ‖y − W z‖²,   z ∈ {e₁, …, e_K} (one-hot)",
        "F_β(y) = −(1/β) log( (1/K) Σ_k exp(−β ‖y − w_k‖²) ),   F_∞(y) = min_k ‖y − w_k‖²",
    ),
    "sparse-coding": ModelText(
        "Sparse coding with dictionary learning",
        "A patch y is explained by a few atoms of a dictionary W; inference ž = argmin_z E is a LASSO "
        "solved by FISTA, and training alternates ž and a dictionary update with unit-norm atoms.",
        "E(y, z) = ‖y − W z‖² + α ‖z‖₁,   ‖w_j‖ = 1",
        "F_∞(y) = min_z E(y, z)   (training minimises mean_y F_∞(y))",
    ),
    "lista": ModelText(
        "LISTA: amortised sparse inference",
        "ISTA unrolled into T layers with learned weights: an encoder that predicts the sparse code in "
        "a fixed number of cheap steps, trained to match FISTA's codes (or to minimise the energy directly).",
        "E(y, z) = ‖y − W z‖² + α ‖z‖₁,   z_{t+1} = soft(W_e y + S z_t, θ),   ž ≈ z_T",
        "F_∞(y) ≈ E(y, Enc(y))   (the encoder amortises the argmin)",
    ),
    "conv-sparse-coding": ModelText(
        "Convolutional sparse coding",
        "The dictionary is a bank of small filters slid over the image: the code is a map per filter, "
        "and the reconstruction is the sum of the filters placed where the codes are non-zero.",
        "E(y, z) = ‖y − Σ_j f_j ∗ z_j‖² + α ‖z‖₁,   ‖f_j‖ = 1",
        "F_∞(y) = min_z E(y, z)",
    ),
    "dae": ModelText(
        "Denoising autoencoder: a contrastive method",
        "Corrupted points ỹ are mapped back to the data, so the reconstruction energy is low on the "
        "data manifold and grows away from it; the arrows of the field point to the data.",
        "E(y, ỹ) = ‖y − Dec(Enc(ỹ))‖²,   ỹ ∼ c(ỹ | y)",
        "F(y) = ‖y − Dec(Enc(y))‖²   (the reconstruction energy; no latent to marginalise)",
    ),
    "ebm2d": ModelText(
        "A deep energy on a 2-D density, trained by contrastive divergence",
        "An MLP energy pushed down on data and up on negatives drawn by Langevin dynamics "
        "(persistent chains in a replay buffer): low energy where the data are.",
        "E_θ(y): an MLP ℝ² → ℝ;   L = mean E_θ(y) − mean E_θ(ȳ) + α mean(E_θ(y)² + E_θ(ȳ)²)",
        "p_θ(y) = exp(−E_θ(y)) / Z_θ;   negatives ȳ ← ȳ − (ε/2) ∇E_θ(ȳ) + √ε · noise",
    ),
    "collapse": ModelText(
        "Collapse, shown",
        "Pushing down only the energy of the data flattens it everywhere (collapse); a contrastive term "
        "or a regulariser that limits the volume of low energy keeps a valley along the data.",
        "E(y, z) = ‖y − W z − b‖² + λ ‖z‖²,   z ∈ ℝ^K",
        "F_∞(y) = λ (y − b)ᵀ (W Wᵀ + λ I)⁻¹ (y − b)",
    ),
    "rbm": ModelText(
        "Restricted Boltzmann machine",
        "A binary latent layer h explains binary images v; summing h out has a closed form, and "
        "contrastive divergence pushes down F(data) and up F(Gibbs samples).",
        "E(v, h) = −vᵀ Wᵀ h − bᵀ v − cᵀ h,   h ∈ {0, 1}^K",
        "F(v) = −log Σ_h exp(−E(v, h)) = −bᵀ v − Σ_j softplus(c_j + (W v)_j)   "
        "(unnormalised: ebmlab.free_energy at β = 1 adds K log 2)",
    ),
    "vae": ModelText(
        "Variational autoencoder on digits",
        "A continuous latent with amortised inference: the encoder q(z | y) proposes latents, and the "
        "negative ELBO is a variational upper bound of the free energy −log p(y).",
        "E(y, z) = −log p_θ(y | z) − log p(z),   p(z) = N(0, I)",
        "F₁(y) = −log ∫ exp(−E(y, z)) dz = −log p(y) ≤ −ELBO(y) = E_q[−log p_θ(y | z)] + KL(q ‖ p)",
    ),
    "autoencoder": ModelText(
        "Plain autoencoder (for comparison with the VAE)",
        "The same networks without the KL term and without noise: a deterministic code, a low "
        "reconstruction energy everywhere the decoder reaches.",
        "E(y) = ‖y − Dec(Enc(y))‖²",
        "F(y) = E(y)   (the latent is a deterministic function of y)",
    ),
    "words": ModelText(
        "Word transcription through a latent alignment",
        "A CNN gives each window of a word image an energy per character; the latent z aligns windows "
        "to the characters of the word, and dynamic programming (Viterbi, forward) finds the best "
        "alignment or sums over all of them.",
        "E(x, y, z) = C_y(z) + Σ_t E_t[z_t]   (C_y: 0 on the word's alignment graph, ∞ elsewhere)",
        "F_∞(x, y) = min_z E(x, y, z) (Viterbi),   F₁(x, y) = −log Σ_z exp(−E(x, y, z)) (forward)",
    ),
}


def model_text(name: str) -> ModelText:
    """The text of model ``name``; a neutral one for a model without an entry.

    Example:
        >>> model_text("kmeans").energy
        'E(y, z) = ‖y − W z‖²,   z ∈ {e₁, …, e_K} (one-hot)'
        >>> model_text("my-model").title
        'my-model'
    """
    return MODEL_TEXT.get(name, ModelText(name, "", "", ""))
