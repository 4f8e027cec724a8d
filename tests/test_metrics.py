"""The statistics beside each accuracy: binomial intervals and the paired McNemar test."""

import math

import pytest

from labkit.metrics import binomial_interval, mcnemar, paired_correctness


def test_the_binomial_interval_of_the_lab_test_split_is_about_one_point():
    low, high = binomial_interval(2790, 3000)  # 93.0% of 3,000 test images
    assert low < 0.93 < high and 0.008 < (high - low) / 2 < 0.010
    assert binomial_interval(30, 30)[1] == 1.0 and binomial_interval(30, 30)[0] > 0.88  # stays inside [0, 1]
    assert binomial_interval(0, 30)[0] == 0.0
    with pytest.raises(ValueError, match="correct <= total"):
        binomial_interval(31, 30)


def test_mcnemar_counts_only_disagreements_and_matches_the_exact_binomial():
    first = [True] * 10 + [True] * 8 + [False] * 2
    second = [True] * 10 + [False] * 8 + [True] * 2
    result = mcnemar(first, second)
    assert (result.images, result.only_first, result.only_second) == (20, 8, 2)
    expected = 2 * sum(math.comb(10, k) for k in range(3)) / 2**10  # P(X <= 2 or X >= 8), X ~ B(10, 1/2)
    assert result.p_value == pytest.approx(expected) and result.p_value == pytest.approx(0.109375)
    assert mcnemar([True, False], [True, False]).p_value == 1.0  # no disagreement: no evidence
    assert mcnemar([True] * 5 + [False] * 5, [False] * 5 + [True] * 5).p_value == 1.0  # balanced
    with pytest.raises(ValueError, match="pair them first"):
        mcnemar([True], [True, False])


def test_pairing_keeps_the_test_images_both_runs_saw():
    # Run A saw 3 images per class, run B the first 2 of each (a smaller test subset).
    a = ([0, 0, 0, 1, 1, 1], [0, 1, 0, 1, 1, 0])
    b = ([0, 0, 1, 1], [1, 0, 1, 0])
    first, second = paired_correctness(a, b)
    assert first == [True, False, True, True] and second == [False, True, True, False]
