"""Rendered words, the window CNN and the words recipe (transcribe, exact resume, losses)."""

import math

import numpy as np
import pytest
import torch

from ebmlab.data.words import (
    HEIGHT,
    characters,
    collate_words,
    decode_word,
    encode_word,
    read_word_image,
    render_word,
    words,
)
from ebmlab.models.words import WINDOW, WordEnergy
from ebmlab.recipes.words import WordsConfig, WordsRecipe, edit_distance
from ebmlab.training import train

# ----------------------------------------------------------------------------------------------- data


def test_words_are_deterministic_by_seed_and_vary_with_it():
    first, again, other = words(20, seed=3, noise=0.1), words(20, seed=3, noise=0.1), words(20, seed=4, noise=0.1)
    assert first.texts == again.texts
    assert all(torch.equal(a, b) for a, b in zip(first.images, again.images, strict=True))
    assert first.texts != other.texts


def test_words_shapes_lengths_and_range():
    data = words(50, min_length=2, max_length=4, seed=0, jitter=3, scale=0.2, noise=0.2)
    assert all(2 <= len(text) <= 4 for text in data.texts)
    for image, target, text in zip(data.images, data.targets, data.texts, strict=True):
        assert image.shape[:2] == (1, HEIGHT) and image.dtype == torch.float32
        assert 0.0 <= float(image.min()) and float(image.max()) <= 1.0
        assert target.tolist() == encode_word(text) and decode_word(target.tolist()) == text


def test_every_word_has_enough_windows_for_both_graphs():
    """A word of L letters is at least 12 L + 12 pixels wide: 3L - 1 >= 2L windows at stride 4."""
    for length in (1, 3, 6):
        data = words(300, min_length=length, max_length=length, seed=length, scale=0.25)
        counts = WordEnergy(stride=4).window_counts(data.widths())
        assert int(counts.min()) >= 2 * length


def test_characters_are_one_window():
    data = characters(30, seed=1, jitter=2, noise=0.05)
    assert all(image.shape == (1, HEIGHT, WINDOW) for image in data.images)
    assert all(len(text) == 1 for text in data.texts)


def test_collate_pads_to_the_widest():
    data = words(5, seed=2)
    batch = collate_words([data[i] for i in range(5)])
    assert batch.images.shape == (5, 1, HEIGHT, int(batch.widths.max()))
    assert batch.targets.tolist() == [c for text in data.texts for c in encode_word(text)]
    for row in range(5):
        width = int(batch.widths[row])
        assert torch.equal(batch.images[row, :, :, :width], data.images[row])
        assert float(batch.images[row, :, :, width:].abs().sum()) == 0.0


def test_data_errors_name_the_argument():
    with pytest.raises(ValueError, match="max_length must be >= min_length=3, got max_length=2"):
        words(3, min_length=3, max_length=2)
    with pytest.raises(ValueError, match=r"scale must be a number in \[0, 0.25\]"):
        words(3, scale=0.5)
    with pytest.raises(ValueError, match="lowercase letters"):
        render_word("Cat")
    with pytest.raises(ValueError, match="noise must be"):
        words(3, noise=-1.0)


def test_read_word_image_round_trip_and_errors(tmp_path):
    from PIL import Image

    image = render_word("hello")[0].numpy()
    path = tmp_path / "hello.png"
    Image.fromarray((image * 255).round().astype(np.uint8)).save(path)
    loaded = read_word_image(path)
    assert loaded.shape == (1, HEIGHT, image.shape[1])
    assert float((loaded[0] - torch.from_numpy(image)).abs().max()) <= 1 / 255
    inverted = tmp_path / "paper.png"
    Image.fromarray(255 - (image * 255).round().astype(np.uint8)).save(inverted)
    assert float((read_word_image(inverted) - loaded).abs().max()) <= 1 / 255
    tall = tmp_path / "tall.png"
    Image.new("L", (40, 48)).save(tall)
    with pytest.raises(ValueError, match=r"tall.png: expected a height of 32 pixels, found 48"):
        read_word_image(tall)
    junk = tmp_path / "junk.png"
    junk.write_bytes(b"not an image")
    with pytest.raises(ValueError, match=r"junk.png: cannot be read as an image"):
        read_word_image(junk)
    with pytest.raises(ValueError, match=r"missing.png: expected a readable image file"):
        read_word_image(tmp_path / "missing.png")


# ----------------------------------------------------------------------------------------------- model


@pytest.mark.parametrize("stride", [1, 2, 3, 4, 6, 8])
def test_window_energies_depend_on_their_window_only(stride):
    """Every code path (whole image, pooled maps, window by window) equals the network on each crop."""
    images = torch.rand(2, 1, HEIGHT, 61, generator=torch.Generator().manual_seed(0))
    model, reference = WordEnergy(stride=stride, seed=1), WordEnergy(stride=4, seed=1)
    energies = model(images)
    steps = (61 - WINDOW) // stride + 1
    assert energies.shape == (steps, 2, 27)
    crops = torch.stack([reference(images[..., t * stride : t * stride + WINDOW])[0] for t in range(steps)])
    torch.testing.assert_close(energies, crops, rtol=1e-5, atol=1e-5)


def test_energies_are_normalised_per_window():
    energies = WordEnergy(seed=0)(torch.rand(3, 1, HEIGHT, 40))
    torch.testing.assert_close(torch.logsumexp(-energies, dim=2), torch.zeros(energies.shape[:2]))
    raw = WordEnergy(seed=0, normalized=False)(torch.rand(3, 1, HEIGHT, 40))
    assert raw.shape == energies.shape


def test_model_errors():
    with pytest.raises(ValueError, match=r"images must have shape \(B, 1, 32, W\)"):
        WordEnergy()(torch.zeros(1, 1, 28, 40))
    with pytest.raises(ValueError, match="at least 18 pixels wide"):
        WordEnergy()(torch.zeros(1, 1, 32, 10))
    with pytest.raises(ValueError, match="stride must be an integer >= 1"):
        WordEnergy(stride=0)


# ----------------------------------------------------------------------------------------------- recipe

SMALL = {"n_chars": 64, "n_train": 40, "n_eval": 12, "max_length": 3, "batch_size": 16, "hidden": 32}


@pytest.mark.parametrize("loss", ["energy", "nll", "hinge"])
@pytest.mark.parametrize("graph", ["homework", "ctc"])
def test_every_loss_and_graph_trains(loss, graph):
    recipe = WordsRecipe(WordsConfig(loss=loss, graph=graph, char_epochs=1, epochs=1, **SMALL))
    result = train(recipe, progress=False)
    assert result.step == 2 and math.isfinite(result.metrics["loss"])
    metrics = recipe.evaluate()
    assert set(metrics) == {"word_accuracy", "char_accuracy"}
    assert all(0.0 <= value <= 1.0 for value in metrics.values())


def test_resume_is_exact():
    config = WordsConfig(char_epochs=1, epochs=2, **SMALL)
    straight = WordsRecipe(config)
    train(straight, progress=False)
    interrupted = WordsRecipe(config)
    for index in range(2):
        interrupted.step(index)
    resumed = WordsRecipe(config)
    resumed.load_state_dict(interrupted.state_dict())
    resumed.step(2)
    for key, value in straight.net.state_dict().items():
        assert torch.equal(value, resumed.net.state_dict()[key]), key
    assert straight.accuracies == resumed.accuracies


def test_transcribe_reads_a_file(tmp_path):
    from PIL import Image

    recipe = WordsRecipe(WordsConfig(char_epochs=0, epochs=1, **SMALL))
    path = tmp_path / "word.png"
    Image.fromarray((render_word("abc")[0].numpy() * 255).astype(np.uint8)).save(path)
    text = recipe.transcribe(path)
    assert isinstance(text, str) and set(text) <= set("abcdefghijklmnopqrstuvwxyz")
    Image.new("L", (40, 20)).save(tmp_path / "short.png")
    with pytest.raises(ValueError, match="short.png"):
        recipe.transcribe(tmp_path / "short.png")


def test_config_errors_name_the_field():
    with pytest.raises(ValueError, match="loss must be one of"):
        WordsConfig(loss="mse").resolved()
    with pytest.raises(ValueError, match="graph must be one of"):
        WordsConfig(graph="hmm").resolved()
    with pytest.raises(ValueError, match="beta must be finite"):
        WordsConfig(beta=math.inf).resolved()
    with pytest.raises(ValueError, match="stride=9 leaves the training word"):
        WordsRecipe(WordsConfig(stride=9, char_epochs=0, **SMALL))


def test_command_line_defaults_are_the_recipe_defaults():
    import argparse

    from ebmlab.cli.train import words as command

    parser = argparse.ArgumentParser()
    command.add_arguments(parser)
    assert command.make_config(parser.parse_args([])) == WordsConfig().resolved()


def test_edit_distance():
    assert edit_distance("", "abc") == 3 and edit_distance("abc", "abc") == 0 and edit_distance("ab", "ba") == 2
