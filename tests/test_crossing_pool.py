"""Discovery's threshold crossings, gathered piece by piece in bounded memory."""
import numpy as np

from engine.training.crossings import CrossingPool, detect_crossings, even_share, extract_snippets


def test_the_pool_read_piece_by_piece_keeps_what_an_even_share_of_all_crossings_at_once_would(rng):
    channels, taps, pre, threshold, budget = 6, 20, 6, 5.0, 150
    sigma = np.ones(channels)
    pieces = []
    for k in range(7):  # busy channels and a quiet one, so that the share is uneven and the pool overflows
        piece = rng.standard_normal((8000, channels)).astype(np.float32)
        spikes = rng.choice(np.arange(50, 7950), 60 + 20 * k, replace=False)
        piece[spikes, rng.integers(0, channels - 1, len(spikes))] -= 8.0
        piece[spikes[:3], channels - 1] -= 9.0
        pieces.append(piece)
    pool = CrossingPool(sigma, taps, pre, threshold, budget, seed=3)
    pool.add(np.zeros((0, channels), dtype=np.float32))  # an empty piece changes nothing
    for piece in pieces:
        pool.add(piece)

    snippets, channel = [], []
    for piece in pieces:
        peaks = detect_crossings(piece, sigma, threshold, min_distance=taps // 3)
        peaks = peaks[(peaks >= pre) & (peaks - pre + taps <= len(piece))]
        snippets.append(extract_snippets(piece, peaks, taps, pre))
        channel.append(piece[peaks].argmin(axis=1))
    snippets, channel = np.concatenate(snippets), np.concatenate(channel)
    priority = np.random.default_rng(3).random(len(channel))  # the pool draws them in the same order
    keep = even_share(channel, priority, budget)

    assert len(channel) > 3 * budget and pool.n_crossings == len(channel)
    np.testing.assert_array_equal(pool.snippets, snippets[keep].astype(np.float32))
    assert (channel[keep] == channels - 1).sum() == (channel == channels - 1).sum()  # the quiet channel keeps all
