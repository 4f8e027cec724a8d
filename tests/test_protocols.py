import pytest
import torch

from labkit import models, protocols
from labkit.data import Split
from labkit.loaders import make_loader


@pytest.fixture(scope="module")
def trained_like_vgg():
    torch.manual_seed(0)
    model = models.vgg11(hidden=64).eval()
    # Non-trivial BatchNorm statistics, so eval mode differs from a fresh net.
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.1, 0.1)
            module.running_var.uniform_(0.5, 1.5)
    return model


def test_the_convolutional_head_gives_the_fully_connected_heads_logits_on_32x32_input(trained_like_vgg):
    images = torch.randn(4, 3, 32, 32)
    dense = protocols.DenseVGG(trained_like_vgg).eval()
    with torch.no_grad():
        score_map = dense(images)
        assert score_map.shape == (4, 3, 1, 1)
        torch.testing.assert_close(score_map.flatten(1), trained_like_vgg(images), rtol=1e-5, atol=1e-5)
    assert not any(isinstance(m, torch.nn.Linear) for m in dense.modules())


def test_a_linear_layer_reading_a_k_by_k_map_becomes_a_k_by_k_convolution():
    torch.manual_seed(1)
    linear = torch.nn.Linear(8 * 3 * 3, 5)
    conv = protocols.convolutional_head(torch.nn.Sequential(linear), trunk_channels=8)[0]
    assert conv.kernel_size == (3, 3)
    x = torch.randn(2, 8, 3, 3)
    torch.testing.assert_close(conv(x).flatten(1), linear(x.flatten(1)))
    with pytest.raises(ValueError, match="square map of 7 channels"):
        protocols.convolutional_head(torch.nn.Sequential(linear), trunk_channels=7)


def test_dense_evaluation_scores_every_position_of_a_larger_image(trained_like_vgg):
    dense = protocols.DenseVGG(trained_like_vgg).eval()
    with torch.no_grad():
        assert dense(torch.randn(1, 3, 64, 64)).shape == (1, 3, 2, 2)
        assert dense(torch.randn(1, 3, 96, 96)).shape == (1, 3, 3, 3)
    # At the training size alone, dense evaluation is the single view.
    images = torch.randn(3, 3, 32, 32)
    torch.testing.assert_close(
        protocols.posteriors(trained_like_vgg, images, "dense", sizes=(32,)),
        protocols.posteriors(trained_like_vgg, images, "single"),
        rtol=1e-5, atol=1e-6,
    )  # fmt: skip


def test_flip_averages_the_posteriors_of_an_image_and_its_mirror(trained_like_vgg):
    images = torch.randn(3, 3, 32, 32)
    with torch.no_grad():
        expected = (trained_like_vgg(images).softmax(1) + trained_like_vgg(images.flip(3)).softmax(1)) / 2
    flipped = protocols.posteriors(trained_like_vgg, images, "flip")
    torch.testing.assert_close(flipped, expected)
    assert not torch.allclose(flipped, protocols.posteriors(trained_like_vgg, images, "single"))
    torch.testing.assert_close(flipped.sum(1), torch.ones(3))


def test_dense_flip_averages_all_sizes_and_mirrors(trained_like_vgg):
    images = torch.randn(2, 3, 32, 32)
    dense = protocols.DenseVGG(trained_like_vgg).eval()
    views = []
    with torch.no_grad():
        for size in (32, 64):
            scaled = torch.nn.functional.interpolate(images, size=(size, size), mode="bilinear", align_corners=False)
            views += [dense(scaled).mean((2, 3)).softmax(1), dense(scaled.flip(3)).mean((2, 3)).softmax(1)]
    torch.testing.assert_close(
        protocols.posteriors(trained_like_vgg, images, "dense+flip", sizes=(32, 64)), sum(views) / 4
    )


def test_a_resnet_takes_every_protocol_through_its_global_pool():
    model = models.resnet20().eval()
    images = torch.randn(2, 3, 32, 32)
    for protocol in protocols.PROTOCOLS:
        assert protocols.posteriors(model, images, protocol).shape == (2, 3)


def test_evaluate_protocols_reports_accuracy_and_views_on_the_same_images(trained_like_vgg):
    torch.manual_seed(2)
    split = Split(torch.randint(0, 256, (10, 3, 32, 32), dtype=torch.uint8), torch.randint(0, 3, (10,)), ("airplane", "automobile", "bird"), "test")
    loader = make_loader(split, 4, False, torch.device("cpu"), 0, "fast", False)
    results = protocols.evaluate_protocols(trained_like_vgg, loader, sizes=(32, 64, 96))
    assert [r.protocol for r in results] == list(protocols.PROTOCOLS)
    assert [r.views for r in results] == [1, 2, 3, 6]
    with torch.no_grad():
        single = sum(int((trained_like_vgg(x).argmax(1) == y).sum()) for x, y in loader) / 10
    assert results[0].accuracy == single and results[0].correct == round(single * 10)
    assert trained_like_vgg.training is False


def test_a_view_that_two_protocols_share_is_computed_once_with_the_same_result(trained_like_vgg):
    torch.manual_seed(3)
    split = Split(torch.randint(0, 256, (6, 3, 32, 32), dtype=torch.uint8), torch.randint(0, 3, (6,)), ("airplane", "automobile", "bird"), "test")
    loader = make_loader(split, 6, False, torch.device("cpu"), 0, "fast", False)
    sizes_seen = []
    hook = trained_like_vgg.features.register_forward_hook(lambda m, inputs, out: sizes_seen.append(inputs[0].shape[-1]))
    try:
        together = protocols.evaluate_protocols(trained_like_vgg, loader, sizes=(32, 64))
    finally:
        hook.remove()
    # single 32; flip adds 32 mirrored; dense 32 and 64; dense+flip adds only their mirrors.
    assert sorted(sizes_seen) == [32, 32, 32, 32, 64, 64]
    assert protocols.relative_cost(sizes=(32, 64)) == 1 + 1 + 2 * (1 + 4)
    assert protocols.relative_cost(("dense+flip",), sizes=(32, 64)) == protocols.relative_cost(("dense", "dense+flip"), sizes=(32, 64))
    alone = [protocols.evaluate_protocol(trained_like_vgg, loader, p, sizes=(32, 64)) for p in protocols.PROTOCOLS]
    assert together == alone


def test_a_protocol_leaves_the_models_mode_and_batchnorm_statistics_as_they_were(trained_like_vgg):
    trained_like_vgg.train()
    before = {k: v.clone() for k, v in trained_like_vgg.state_dict().items()}
    protocols.posteriors(trained_like_vgg, torch.randn(4, 3, 32, 32), "dense+flip")
    assert trained_like_vgg.training
    assert all(torch.equal(before[k], v) for k, v in trained_like_vgg.state_dict().items())
    trained_like_vgg.eval()


@pytest.mark.parametrize(
    ("protocol", "sizes", "message"),
    [("multi-crop", (32,), "unknown test protocol 'multi-crop'; use one of single, flip, dense"),
     ("dense", (16, 32), "multiples of 32"), ("dense", (32, 48), "multiples of 32"), ("dense", (), "multiples of 32")],
)  # fmt: skip
def test_a_bad_protocol_or_size_is_refused_with_what_to_use(trained_like_vgg, protocol, sizes, message):
    with pytest.raises(ValueError, match=message):
        protocols.posteriors(trained_like_vgg, torch.zeros(1, 3, 32, 32), protocol, sizes)
