import pytest
import torch
from torch import nn

from labkit import models, papers
from labkit.models import Bottleneck


def layers_of(model, kind):
    return [module for module in model.modules() if isinstance(module, kind)]


@pytest.mark.parametrize(("name", "expected"), [("vgg16", 33_617_987), ("resnet50", 23_510_339)])
def test_lab_models_have_the_exact_parameter_count(name, expected):
    assert models.count_parameters(models.build(name, num_classes=3)) == expected


@pytest.mark.parametrize(
    ("name", "num_classes"),
    [(name, 3) for name in sorted(models.BUILDERS)] + [("vgg16", 10), ("resnet50", 10), ("resnet18", 10)],
)
def test_output_shape_for_32x32_input(name, num_classes):
    model = models.build(name, num_classes=num_classes).eval()
    with torch.no_grad():
        assert model(torch.randn(2, 3, 32, 32)).shape == (2, num_classes)


def test_vgg16_structure():
    model = models.vgg16()
    feature_layers = list(model.features)
    convs = [i for i, layer in enumerate(feature_layers) if isinstance(layer, nn.Conv2d)]
    assert len(convs) == 13
    assert all(isinstance(feature_layers[i + 1], nn.BatchNorm2d) for i in convs)
    assert all(feature_layers[i].kernel_size == (3, 3) and feature_layers[i].padding == (1, 1) for i in convs)
    assert [feature_layers[i].out_channels for i in convs] == [64, 64, 128, 128, 256, 256, 256] + [512] * 6
    pools = layers_of(model, nn.MaxPool2d)
    assert len(pools) == 5 and all(p.kernel_size == 2 and p.stride == 2 for p in pools)
    linears = layers_of(model, nn.Linear)
    assert [(layer.in_features, layer.out_features) for layer in linears] == [(512, 4096), (4096, 4096), (4096, 3)]
    assert not layers_of(model, nn.Dropout)


def test_vgg_configurations_have_the_papers_weight_layer_counts():
    for builder, weight_layers in [(models.vgg11, 11), (models.vgg13, 13), (models.vgg16, 16), (models.vgg19, 19)]:
        model = builder(batch_norm=False, hidden=64)
        assert len(layers_of(model, nn.Conv2d)) + len(layers_of(model, nn.Linear)) == weight_layers
        assert not layers_of(model, nn.BatchNorm2d)


def test_vgg_dropout_and_hidden_width_are_arguments():
    model = models.vgg16(hidden=256, dropout=0.5)
    assert len(layers_of(model, nn.Dropout)) == 2
    assert layers_of(model, nn.Linear)[0].out_features == 256


def test_resnet50_structure():
    model = models.resnet50()
    blocks = layers_of(model, Bottleneck)
    assert len(blocks) == 16
    assert not layers_of(model, nn.MaxPool2d)
    stem = model.stem[0]
    assert stem.kernel_size == (3, 3) and stem.stride == (1, 1) and stem.out_channels == 64
    stages = [model.layer1, model.layer2, model.layer3, model.layer4]
    assert [len(stage) for stage in stages] == [3, 4, 6, 3]
    for stage_index, stage in enumerate(stages):
        for block_index, block in enumerate(stage):
            strided = stage_index > 0 and block_index == 0
            assert block.conv1.kernel_size == (1, 1)
            assert block.conv1.stride == ((2, 2) if strided else (1, 1))
            assert block.conv2.stride == (1, 1) and block.conv3.stride == (1, 1)
            assert block.conv3.out_channels == 4 * (64 << stage_index)
            widths_differ = block.conv1.in_channels != block.conv3.out_channels
            if widths_differ:
                assert isinstance(block.shortcut, models.resnet.Projection)
                assert block.shortcut.conv.bias is not None and block.shortcut.conv.kernel_size == (1, 1)
                assert block.shortcut.conv.stride == block.conv1.stride
            else:
                assert isinstance(block.shortcut, nn.Identity)
    projections = [block for block in blocks if not isinstance(block.shortcut, nn.Identity)]
    assert len(projections) == 4
    assert (model.fc.in_features, model.fc.out_features) == (2048, 3)


def test_resnet_shortcut_is_identity_where_the_input_passes_through_unchanged():
    block = Bottleneck(256, 64).eval()
    for module in (block.bn3,):
        nn.init.zeros_(module.weight)  # residual branch -> 0, so the block is relu(x)
    x = torch.rand(1, 256, 8, 8)
    with torch.no_grad():
        assert torch.allclose(block(x), torch.relu(x + block.bn3.bias.view(1, -1, 1, 1)))


def test_build_rejects_an_unknown_name_and_lists_the_known_ones():
    with pytest.raises(ValueError, match="unknown model 'vgg17'.*vgg16.*resnet50"):
        models.build("vgg17")


@pytest.mark.parametrize("depth", sorted(papers.RESNET_CIFAR))
def test_cifar_resnets_have_the_papers_parameter_counts(depth):
    millions = papers.RESNET_CIFAR[depth][0]  # Table 6, 10-class head, rounded as the table prints it
    digits = len(str(millions).split(".")[1])
    count = models.count_parameters(models.build(f"resnet{depth}", num_classes=10))
    assert round(count / 1e6, digits) == millions
    # A plain net is the same network without its shortcuts, and option A shortcuts have no parameters.
    assert models.count_parameters(models.build(f"plain{depth}", num_classes=10)) == count


@pytest.mark.parametrize("depth", [20, 56])
def test_cifar_resnet_layout_follows_section_4_2(depth):
    model = models.build(f"resnet{depth}", num_classes=10)
    convs = [m for name, m in model.named_modules() if isinstance(m, nn.Conv2d)]
    assert len(convs) + len(layers_of(model, nn.Linear)) == depth  # 6n+2 weight layers, no projection convs
    assert all(conv.kernel_size == (3, 3) for conv in convs)
    stages = [model.layer1, model.layer2, model.layer3]
    assert not hasattr(model, "layer4") and [len(stage) for stage in stages] == [(depth - 2) // 6] * 3
    shapes = []
    hooks = [stage.register_forward_hook(lambda m, i, o: shapes.append(tuple(o.shape[1:]))) for stage in stages]
    model(torch.zeros(1, 3, 32, 32))
    for hook in hooks:
        hook.remove()
    assert shapes == [(16, 32, 32), (32, 16, 16), (64, 8, 8)]
    strided = [block for block in layers_of(model, models.BasicBlock) if block.conv1.stride == (2, 2)]
    assert len(strided) == 2 and all(isinstance(b.shortcut, models.resnet.ZeroPadShortcut) for b in strided)


def test_zero_padded_shortcut_subsamples_and_appends_zero_channels():
    shortcut = models.resnet.ZeroPadShortcut(16, 32, stride=2)
    x = torch.randn(2, 16, 8, 8)
    out = shortcut(x)
    assert out.shape == (2, 32, 4, 4)
    assert torch.equal(out[:, :16], x[:, :, ::2, ::2]) and not out[:, 16:].any()
    assert not list(shortcut.parameters())


@pytest.mark.parametrize(("residual", "plain"), [("resnet20", "plain20"), ("resnet18", "plain18"), ("resnet34", "plain34")])
def test_a_plain_net_is_its_resnet_with_the_shortcuts_removed_and_nothing_else(residual, plain):
    with_shortcuts, without = models.build(residual), models.build(plain)
    assert all(block.shortcut is None for block in layers_of(without, models.BasicBlock))
    kept = {name: p.shape for name, p in with_shortcuts.named_parameters() if ".shortcut." not in name}
    assert {name: p.shape for name, p in without.named_parameters()} == kept
    # Same weights, and a block whose input is zero: the shortcut adds nothing, so both nets agree.
    without.load_state_dict({k: v for k, v in with_shortcuts.state_dict().items() if ".shortcut." not in k})
    block_r, block_p = with_shortcuts.layer1[0].eval(), without.layer1[0].eval()
    x = torch.randn(1, block_r.conv1.in_channels, 8, 8)
    with torch.no_grad():
        assert not torch.allclose(block_r(x), block_p(x))
        zero = torch.zeros_like(x)
        assert torch.allclose(block_r(zero), block_p(zero))


def test_cifar_resnet_refuses_a_depth_that_is_not_6n_plus_2():
    with pytest.raises(ValueError, match="6n\\+2 layers.*depth 21"):
        models.cifar_resnet(21)
