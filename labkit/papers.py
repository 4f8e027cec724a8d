"""The two papers' published numbers, in one place, for the experiments to print beside their own.

Simonyan & Zisserman, "Very Deep Convolutional Networks for Large-Scale Image
Recognition", ICLR 2015 (arXiv:1409.1556v6): ImageNet (ILSVRC-2012) validation
error, top-1 / top-5, in percent.  He, Zhang, Ren & Sun, "Deep Residual Learning
for Image Recognition", CVPR 2016 (arXiv:1512.03385).  Each table's numbers are
copied as printed, with the table they come from.
"""

from __future__ import annotations

VGG_PAPER = "Simonyan & Zisserman (ICLR 2015)"
RESNET_PAPER = "He et al. (CVPR 2016)"

# VGG Table 3, single test scale, training scale S = 256 (test scale Q = 256): top-1 / top-5 error.
VGG_DEPTH = {
    "A": (29.6, 10.4),
    "B": (28.7, 9.9),
    "D": (27.0, 8.8),
    "E": (27.3, 9.0),
}
VGG_CONFIGURATIONS = {"A": "vgg11", "B": "vgg13", "D": "vgg16", "E": "vgg19"}
VGG_VALIDATION_IMAGES = 50_000  # ILSVRC-2012 validation set, on which every VGG error above is measured
# Section 4.1: "the error rate of our architecture saturates when the depth reaches 19 layers".
VGG_SATURATION_LAYERS = 19
VGG_JITTER = (256, 512)  # the range of training scales S of the jittered nets

# VGG, configuration D trained with scale jitter S in [256; 512]: top-1 / top-5 error under
# each test protocol. Table 3 (single scale, Q = 384), Table 4 (dense, Q = {256, 384, 512}),
# Table 5 (multi-crop, and multi-crop with dense). The paper's dense evaluation averages each
# image with its horizontal flip (section 3.2), so its single-scale row is the lab's "flip"
# (dense evaluation at 32 pixels is the single view) and its three-scale row the lab's "dense+flip".
VGG_PROTOCOLS = {
    "single scale (dense, with the mirror)": (25.6, 8.1),
    "dense, three scales": (24.8, 7.5),
    "multi-crop, three scales": (24.6, 7.5),
    "multi-crop and dense": (24.4, 7.2),
}
VGG_PROTOCOL_TABLES = "Tables 3, 4 and 5, configuration D, S in [256; 512]"

# ResNet Table 2, ImageNet top-1 error (10-crop testing): plain against residual at 18 and 34 layers.
RESNET_IMAGENET = {"plain18": 27.94, "plain34": 28.54, "resnet18": 27.88, "resnet34": 25.03}

# ResNet Table 6, CIFAR-10 test error (%) and parameters (millions) of the section 4.2 networks with
# option A shortcuts; ResNet-110 is the best of 5 runs (mean 6.61 +- 0.16).
RESNET_CIFAR = {20: (0.27, 8.75), 32: (0.46, 7.51), 44: (0.66, 7.17), 56: (0.85, 6.97), 110: (1.7, 6.43)}
# Section 4.2's schedule: 64,000 iterations of mini-batches of 128, learning rate 0.1 divided by 10
# at 32,000 and 48,000 (the iteration counts were chosen on a 45k/5k split; the nets were then
# trained on all 50,000 training images).
RESNET_CIFAR_ITERATIONS = 64_000
RESNET_CIFAR_BATCH = 128
RESNET_CIFAR_TRAIN_IMAGES = 50_000
# Figure 6 (left) gives the plain networks' errors as curves only: deeper plain nets have higher
# training error, and plain-56 is above plain-20 throughout training.
