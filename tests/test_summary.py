from labkit import models


def test_vgg16_summary_shows_shapes_and_the_exact_total():
    text = models.summary(models.vgg16())
    assert "Conv2d 3->64, 3x3" in text and "64x32x32" in text
    assert "MaxPool2d 2x2/2" in text and "512x1x1" in text
    assert text.rstrip().endswith("total parameters: 33,617,987")


def test_resnet50_summary_marks_strides_and_projections():
    text = models.summary(models.resnet50())
    assert "layer2.0  Bottleneck 256->512, stride 2, projection shortcut" in text
    assert "layer1.1  Bottleneck 256->256 " in text and "2048x4x4" in text
    assert text.rstrip().endswith("total parameters: 23,510,339")


def test_summary_leaves_the_training_mode_alone():
    model = models.resnet18().train()
    models.summary(model)
    assert model.training
