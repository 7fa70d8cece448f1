"""functional kernels: pure tensor functions.

Each kernel takes tensors and returns tensors, validates its input at the public entry point and
holds no state; models, losses and recipes call them.

* :mod:`~ebmlab.kernels.argmin` — the blocked argmin over a finite latent set
  (:func:`exhaustive_argmin`), squared distances and the nearest-codeword search
  (:func:`assign_clusters`, K-means' assignment step); :mod:`~ebmlab.kernels.argmin_bounds` is its
  accelerated mode for searches repeated while the codewords move (Yinyang/Elkan bounds), and
  :mod:`~ebmlab.kernels.fast_linear` the fast path of their products (oneDNN on CPU, ``torch.addmm``
  its oracle);
* :mod:`~ebmlab.kernels.free_energy` — the free energy F_β over a finite latent set and its
  gradient, the Gibbs distribution (:func:`free_energy`, :func:`softmin`);
* :mod:`~ebmlab.kernels.alignment` — free energies over latent alignments (Viterbi and forward
  recursions on the CTC graph and the homework's graph), the best alignment and unconstrained
  decoding;
* :mod:`~ebmlab.kernels.proximal` — proximal gradient for the sparse energy ‖y − Wz‖² + α‖z‖₁:
  soft thresholding, ISTA steps, FISTA (:func:`sparse_encode`), its duality gap, Lipschitz
  constants by power iteration, and the unit-norm atom projection.
"""
