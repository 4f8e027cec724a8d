import pytest
import torch
from torch import nn

from labkit import models
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
