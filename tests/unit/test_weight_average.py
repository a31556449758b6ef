"""Weight average: a running mean until the window fills, then an EMA; a run under two windows keeps its last weights;
swapping in and out is lossless."""

import pytest
import torch

from shoprank.core.training.weight_average import WeightAverage


def _linear(value: float) -> torch.nn.Linear:
    layer = torch.nn.Linear(3, 2)
    with torch.no_grad():
        layer.weight.fill_(value)
        layer.bias.fill_(value)
    return layer


def _set(layer: torch.nn.Linear, value: float) -> None:
    with torch.no_grad():
        for p in layer.parameters():
            p.fill_(value)


def test_mean_until_the_window_fills_then_exponential():
    layer = _linear(100.0)
    average = WeightAverage(layer, decay=0.5)  # window 1 / (1 - 0.5) = 2 updates
    _set(layer, 1.0)
    average.update(layer)  # first update replaces the starting weights
    assert torch.allclose(average.shadow[0], torch.full((2, 3), 1.0))
    _set(layer, 3.0)
    average.update(layer)  # mean of 1 and 3
    assert torch.allclose(average.shadow[0], torch.full((2, 3), 2.0))
    _set(layer, 6.0)
    average.update(layer)  # from here on 0.5 * old + 0.5 * new
    assert torch.allclose(average.shadow[1], torch.full((2,), 4.0))


def test_a_run_shorter_than_two_windows_keeps_its_last_weights():
    average = WeightAverage(_linear(0.0), decay=0.9)  # window 10 updates
    assert average.decay_for_run(None) == average.decay_for_run(21) == average.decay_for_run(400) == 0.9
    assert average.decay_for_run(19) == average.decay_for_run(8) == average.decay_for_run(1) == 0.0
    layer = _linear(100.0)
    short = WeightAverage(layer, decay=0.9)
    for value in (1.0, 3.0, 6.0):
        _set(layer, value)
        short.update(layer, run_steps=19)
    assert torch.allclose(short.shadow[1], torch.full((2,), 6.0))  # not the mean of the three, 3.33
    for value in (2.0, 4.0):  # the run turns out long enough (a minutes budget's estimate grew): averaging starts
        _set(layer, value)
        short.update(layer, run_steps=21)
    assert torch.allclose(short.shadow[1], torch.full((2,), (6.0 + 2.0 + 4.0) / 3))  # a running mean from 6.0 on


def test_swapped_into_holds_the_average_and_restores_the_model():
    layer = _linear(0.0)
    average = WeightAverage(layer, decay=0.9)
    for value in (1.0, 2.0, 3.0):
        _set(layer, value)
        average.update(layer)
    with average.swapped_into(layer):
        assert torch.allclose(layer.weight, torch.full((2, 3), 2.0))
    assert torch.allclose(layer.weight, torch.full((2, 3), 3.0))
    with pytest.raises(RuntimeError), average.swapped_into(layer):
        raise RuntimeError("an error inside the block")
    assert torch.allclose(layer.weight, torch.full((2, 3), 3.0))  # restored on error too


def test_state_round_trip_continues_identically():
    layer = _linear(0.0)
    first = WeightAverage(layer, decay=0.8)
    for value in (1.0, 5.0):
        _set(layer, value)
        first.update(layer)
    second = WeightAverage(_linear(-7.0), decay=0.8)
    second.load_state_dict(first.state_dict())
    _set(layer, 9.0)
    first.update(layer)
    second.update(layer)
    assert second.updates == first.updates == 3
    assert all(torch.equal(a, b) for a, b in zip(first.shadow, second.shadow))


def test_state_of_another_average_is_refused_with_what_differs():
    state = WeightAverage(_linear(0.0), decay=0.9).state_dict()
    with pytest.raises(ValueError, match="expected 2 tensors with decay 0.99, got 2 with decay 0.9"):
        WeightAverage(_linear(0.0), decay=0.99).load_state_dict(state)
    with pytest.raises(ValueError, match=r"decay must be in \(0, 1\), got 1.0"):
        WeightAverage(_linear(0.0), decay=1.0)


def test_frozen_parameters_are_left_out():
    layer = _linear(1.0)
    layer.bias.requires_grad_(False)
    average = WeightAverage(layer, decay=0.9)
    assert len(average.shadow) == 1 and average.shadow[0].shape == (2, 3)
    _set(layer, 5.0)
    average.update(layer)
    average.copy_to(layer)
    assert torch.allclose(layer.weight, torch.full((2, 3), 5.0))
