"""The lab's definition, in one place: recipes, profiles, reference results, file names.

Everything else (the command line, the notebooks, the report, the GPU check)
reads the lab's numbers from here. Nothing here imports torch, so reading the
definition costs nothing; only choosing the profile automatically asks torch
whether a CUDA GPU is there.
"""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

# --------------------------------------------------------------------------- the data

CIFAR10_CLASSES = (
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
)  # fmt: skip
LAB_CLASSES = CIFAR10_CLASSES[:3]
# Images of each class in CIFAR-10's splits.
TRAIN_PER_CLASS = 5000
TEST_PER_CLASS = 1000
IMAGE_SIZE = 32
CROP_PADDING = 4
MEAN = (0.4914, 0.4822, 0.4465)
STD = (0.2023, 0.1994, 0.2010)
INPUT_PATHS = ("fast", "reference")
# Test image sides for VGG's dense evaluation: multiples of 32, so each of the five 2x2 pools
# halves the map exactly and every size gives a whole score map (1x1, 2x2, 3x3). The paper
# tested nets trained on one scale S at {S - 32, S, S + 32} and nets trained on jittered scales
# at {256, 384, 512}; a 32-pixel lab image has no smaller size that survives five pools.
DENSE_SIZES = (32, 64, 96)
# What a resumed run may change when asked to (--allow-change): the optimiser's
# settings, and the epoch count, to train a run for longer.
CHANGEABLE_ON_RESUME = ("lr", "momentum", "weight_decay", "epochs")
# Learning-rate schedules, stepped once per epoch: the lab's constant rate; a step decay
# in the papers' spirit (divided by 10 at half and at three quarters of the epochs, where
# the papers divided by 10 when the error stopped falling); a cosine decay to zero.
SCHEDULES = ("constant", "step", "cosine")
STEP_DECAY_AT = (0.5, 0.75)  # fractions of the epochs
STEP_DECAY_FACTOR = 0.1


def class_list(classes: str | tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """Class names as a tuple; a string is read as comma-separated names ("cat, dog"), "all" as all ten."""
    if isinstance(classes, str) and classes.strip().lower() == "all":
        return CIFAR10_CLASSES
    if isinstance(classes, str):
        return tuple(name.strip() for name in classes.split(",") if name.strip())
    return tuple(classes)


# --------------------------------------------------------------------------- profiles


@dataclass(frozen=True)
class Scale:
    """How much of its recipe one model runs: None keeps the recipe's own value."""

    epochs: int | None = None
    per_class: int | None = None  # None: every training image of each class
    test_per_class: int | None = None  # None: every test image of each class

    def describe(self, model: str) -> str:
        epochs = self.epochs or (LABS[model] if model in LABS else LABS["vgg16"]).recipe.epochs
        train = f"{self.per_class or TRAIN_PER_CLASS:,} training images per class"
        test = "the full test split" if self.test_per_class is None else f"{self.test_per_class:,} test images per class"
        return f"{train}, {epochs} epoch{'s' if epochs != 1 else ''}, {test}"


@dataclass(frozen=True)
class Profile:
    """A smaller run of the same recipe: fewer epochs and images, every other setting kept.

    ``scales`` sizes the two labs' models apart (ResNet50 is about 4x slower per
    image than VGG16 on a CPU); any other model gets ``scale``.
    """

    name: str
    purpose: str
    scale: Scale = Scale()
    scales: tuple[tuple[str, Scale], ...] = ()
    # The papers' experiments (:data:`EXPERIMENTS`): each one's models all run at one scale; an
    # experiment missing here runs at the lab's own scale of its notebook's model.
    experiments: tuple[tuple[str, Scale], ...] = ()
    # The lab's open questions (:data:`QUESTIONS`), per model: every variant of one notebook runs at
    # one scale; a model missing here asks them at its lab's own scale, where the notebook's own run
    # is the faithful recipe's row.
    questions: tuple[tuple[str, Scale], ...] = ()
    # Models whose open questions the profile does not ask, each with why (the notebook prints it).
    questions_skipped: tuple[tuple[str, str], ...] = ()

    def for_model(self, model: str) -> Scale:
        return dict(self.scales).get(model.lower(), self.scale)

    def for_experiment(self, name: str) -> Scale:
        experiment = EXPERIMENTS[name]
        return dict(self.experiments).get(name, self.for_model(experiment.lab))

    def for_questions(self, model: str) -> Scale:
        return dict(self.questions).get(model.lower(), self.for_model(model))

    def describe(self) -> str:
        """What the profile runs, in words, computed from its numbers."""
        parts = {model: self.for_model(model).describe(model) for model in LABS}
        if len(set(parts.values())) == 1:
            return f"{self.purpose}: {next(iter(parts.values()))}"
        return f"{self.purpose}: " + "; ".join(f"{title(model)} {text}" for model, text in parts.items())


FULL = Profile("full", "the lab recipe")
# Sized to run both notebooks in about 20 minutes on a 2-core CPU with native bf16 (AMD EPYC,
# AVX512-BF16), from its measured epoch times (VGG16 about 52 s, ResNet50 about 97 s on these
# subsets): as much data and as many epochs as fit, and a smaller test subset for ResNet50, whose
# test pass costs as much as a third of its training epoch. ResNet50 gets five epochs, not four:
# under the lab's constant learning rate its test accuracy still swings from epoch to epoch in
# the first hundred steps.
# The lab runs take about half of that; the experiments add a few minutes to each notebook: four VGG
# configurations and four plain and residual CIFAR nets on small subsets, and the test protocols on
# a test subset (measured on a 2-core Intel Xeon with AMX: VGG16's 180 s, ResNet50's 183 s). The
# README gives the committed report's own times.
QUICK = Profile(
    "quick", "a CPU-sized run of the same recipe",
    scales=(("vgg16", Scale(epochs=5, per_class=2000)), ("resnet50", Scale(epochs=5, per_class=1000, test_per_class=300))),
    scale=Scale(epochs=5, per_class=2000),
    experiments=(
        ("depth", Scale(epochs=4, per_class=500, test_per_class=500)),
        ("degradation", Scale(epochs=6, per_class=1500, test_per_class=500)),
        ("protocol", Scale(test_per_class=500)),
    ),
    # The open questions train three variants per notebook besides the lab recipe (VGG16's improved,
    # and ResNet50's longer and improved, for twice the epochs), so VGG16 asks them on a subset like
    # the depth experiment's. ResNet50 does
    # not ask them here: on a subset that trains in minutes (300 images per class, 3 epochs; measured
    # on a 2-core AMD EPYC, fp32) the lab recipe was still at chance, 33.33% on 900 test images, so
    # the variants had nothing to improve on, and at the quick run's own size they take hours.
    questions=(("vgg16", Scale(epochs=4, per_class=500, test_per_class=500)),),
    questions_skipped=(("resnet50", "on a subset that trains in minutes on a CPU, ResNet50 under the lab's "
                                    "constant learning rate is still at chance after a few epochs"),),
)  # fmt: skip
SMOKE = Profile(
    "smoke", "seconds, for CI", Scale(epochs=1, per_class=8, test_per_class=10),
    experiments=(("depth", Scale(epochs=1, per_class=4, test_per_class=4)),
                 ("degradation", Scale(epochs=2, per_class=4, test_per_class=4))),
    questions=(("vgg16", Scale(epochs=2, per_class=4, test_per_class=4)),
               ("resnet50", Scale(epochs=2, per_class=4, test_per_class=4))),
)  # fmt: skip
PROFILES = {profile.name: profile for profile in (FULL, QUICK, SMOKE)}
AUTO = "auto"  # full where a CUDA GPU is, else quick


def _cuda_available() -> bool:
    import torch  # only when a profile is chosen automatically: reading the definition stays cheap

    return torch.cuda.is_available()


def choose_profile(name: str | Profile | None = None) -> tuple[Profile, str]:
    """The profile to run and why: the argument, else ``$LABKIT_PROFILE``, else automatic.

    Automatic is ``full`` where a CUDA GPU is available and ``quick`` elsewhere, so
    the main command finishes in minutes on a laptop and runs the real lab on a GPU.
    The variable is how nbval, which cannot pass parameters, runs the notebooks on
    the smoke profile.
    """
    if isinstance(name, Profile):
        return name, "asked for"
    source = "asked for" if name else "set by LABKIT_PROFILE"
    chosen = (name or os.environ.get("LABKIT_PROFILE") or AUTO).lower()
    if chosen == AUTO:
        if _cuda_available():
            return FULL, "chosen automatically: a CUDA GPU is available"
        return QUICK, "chosen automatically: no CUDA GPU here, and the full recipe takes hours on a CPU"
    try:
        return PROFILES[chosen], source
    except KeyError:
        named = "" if name else " (from LABKIT_PROFILE)"
        raise ValueError(f"unknown profile {chosen!r}{named}; choose one of {', '.join([AUTO, *PROFILES])}") from None


def get_profile(name: str | Profile | None = None) -> Profile:
    """:func:`choose_profile` without the reason."""
    return choose_profile(name)[0]


# --------------------------------------------------------------------------- recipes


@dataclass(frozen=True)
class Recipe:
    """Everything that decides what a run computes, so two runs of one recipe agree.

    ``bf16`` and ``channels_last`` left as None take the device's default
    (:func:`labkit.device.device_settings`); ``per_class`` and ``test_per_class``
    as None take every image of each class.
    """

    model: str = "vgg16"
    classes: tuple[str, ...] = LAB_CLASSES
    epochs: int = 20
    batch_size: int = 128
    lr: float = 0.01
    momentum: float = 0.9
    weight_decay: float = 5e-4
    input_path: str = "fast"
    bf16: bool | None = None
    channels_last: bool | None = None
    per_class: int | None = None
    test_per_class: int | None = None
    val_per_class: int | None = None  # training images per class held out for validation; None: no hold-out
    seed: int = 0
    eval_batch_size: int = 512
    workers: int = 0
    torch_compile: bool = False
    dropout: float = 0.0  # before each of VGG's two hidden fully connected layers' outputs; the lab has none
    schedule: str = "constant"  # one of SCHEDULES
    label_smoothing: float = 0.0
    variant: str = "lab"  # the name of the recipe variant (VARIANTS) this recipe was made from
    sync_bn: bool = False  # under torchrun on GPUs: BatchNorm statistics over the global batch, not each rank's
    profile: str = "full"

    def __post_init__(self) -> None:
        object.__setattr__(self, "classes", class_list(self.classes))
        if len(self.classes) < 2:
            raise ValueError(
                f"a classifier needs at least two classes, got {list(self.classes)}; "
                "name two or more, for example airplane,automobile"
            )
        if len(set(self.classes)) != len(self.classes):
            raise ValueError(f"class list {list(self.classes)} names a class twice")
        for name in ("epochs", "batch_size", "eval_batch_size", "lr", "momentum", "weight_decay", "workers"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ValueError(f"{name.replace('_', ' ')} must be a finite number, got {value!r}")
        for name in ("epochs", "batch_size", "eval_batch_size", "lr"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name.replace('_', ' ')} must be greater than zero, got {getattr(self, name)}")
        if self.momentum < 0 or self.weight_decay < 0:
            raise ValueError(
                f"momentum and weight decay must not be negative, got {self.momentum} and {self.weight_decay}"
            )
        for name in ("bf16", "channels_last"):
            if not (getattr(self, name) is None or isinstance(getattr(self, name), bool)):
                raise ValueError(f"{name} must be True, False or None (the device's default), got {getattr(self, name)!r}")
        for name in ("torch_compile", "sync_bn"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be True or False, got {getattr(self, name)!r}")
        for name in ("dropout", "label_smoothing"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
                raise ValueError(f"{name.replace('_', ' ')} must be a number from 0 up to (not including) 1, got {value!r}")
        if self.dropout and not self.model.lower().startswith("vgg"):
            raise ValueError(
                f"dropout applies to VGG's fully connected layers, and {self.model} has none; drop it for this model"
            )
        if self.schedule not in SCHEDULES:
            raise ValueError(f"unknown learning-rate schedule {self.schedule!r}; use one of {', '.join(SCHEDULES)}")
        if self.input_path not in INPUT_PATHS:
            raise ValueError(f"unknown input path {self.input_path!r}; use one of {', '.join(INPUT_PATHS)}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or not 0 <= self.seed < 2**32:
            raise ValueError(f"seed must be a whole number from 0 to {2**32 - 1}, got {self.seed!r}")
        if self.val_per_class is not None:
            if isinstance(self.val_per_class, bool) or not isinstance(self.val_per_class, int) or self.val_per_class < 1:
                raise ValueError(f"val per class must be a whole number of images of at least 1, got {self.val_per_class!r}")
            kept = self.per_class or TRAIN_PER_CLASS
            if self.val_per_class >= kept:
                raise ValueError(
                    f"holding out {self.val_per_class} of {kept} training images per class leaves none to train on; "
                    f"hold out fewer than {kept}"
                )
        if self.workers < 0:
            raise ValueError(f"workers must not be negative, got {self.workers}")
        if self.profile not in PROFILES:  # an unknown profile name is an error here, not in a report later
            raise ValueError(f"unknown profile {self.profile!r}; a recipe is run on one of {', '.join(PROFILES)}")

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "classes": list(self.classes)}


VGG16 = Recipe(model="vgg16", epochs=20)
RESNET50 = Recipe(model="resnet50", epochs=15)


# --------------------------------------------------------------------------- the two labs


@dataclass(frozen=True)
class Reference:
    """One published run of the original lab, on a GPU it did not name."""

    train_acc: float
    test_acc: float
    seconds: float
    parameters: int


@dataclass(frozen=True)
class Lab:
    title: str
    notebook: str
    recipe: Recipe
    reference: Reference


LABS = {
    "vgg16": Lab("VGG16", "vgg16_lab.ipynb", VGG16, Reference(0.9954, 0.930, 111.0, 33_617_987)),
    "resnet50": Lab("ResNet50", "resnet50_lab.ipynb", RESNET50, Reference(0.9720, 0.891, 166.0, 23_510_339)),
}


@dataclass(frozen=True)
class Experiment:
    """One of the papers' own experiments, run with the lab's recipe inside one of the two labs."""

    name: str
    lab: str  # the notebook (by its model) that holds it, and whose recipe its runs use
    models: tuple[str, ...]  # trained for the experiment, in the order its table lists them; none: the lab's model
    question: str


EXPERIMENTS = {
    "depth": Experiment(
        "depth", "vgg16", ("vgg11", "vgg13", "vgg16", "vgg19"),
        "does accuracy grow with depth, from VGG's configuration A (11 weight layers) to E (19)?",
    ),
    "protocol": Experiment(
        "protocol", "vgg16", (),
        "how much do a mirrored view and dense multi-scale testing add to the trained VGG16?",
    ),
    "degradation": Experiment(
        "degradation", "resnet50", ("plain20", "resnet20", "plain56", "resnet56"),
        "does a deeper plain net train worse, and do shortcuts turn depth into a gain?",
    ),
}  # fmt: skip


@dataclass(frozen=True)
class Variant:
    """A named change to the lab's recipe that answers one of the lab's open questions.

    The faithful recipe (``lab``) is the default everywhere; a variant is only ever
    asked for by name, and never changes the recipe it starts from.
    """

    name: str
    question: str
    changes: tuple[tuple[str, Any], ...] = ()
    epochs_factor: int = 1  # times the profile's epochs
    vgg_changes: tuple[tuple[str, Any], ...] = ()  # only for VGG models (FC dropout)
    vgg_only: bool = False

    def applied(self, base: Recipe) -> dict[str, Any]:
        """The recipe settings this variant sets on ``base`` (already shrunk by its profile)."""
        vgg = base.model.lower().startswith("vgg")
        if self.vgg_only and not vgg:
            raise ValueError(
                f"the {self.name!r} recipe changes VGG's fully connected layers, and {base.model} has none; "
                f"choose one of {', '.join(name for name, v in VARIANTS.items() if not v.vgg_only)} for it"
            )
        return {**dict(self.changes), **(dict(self.vgg_changes) if vgg else {}), "epochs": base.epochs * self.epochs_factor,
                "variant": self.name}  # fmt: skip


# The default schedule variant, for asking whether a schedule helps: cosine, because it has no
# milestone to choose, so it fits any epoch count (the quick profile's 5 as well as the lab's
# 20) without tuning, where a step decay's milestones were chosen by the papers on watching the error.
SCHEDULE_VARIANT = "cosine"
VARIANTS = {
    "lab": Variant("lab", "the reference lab's recipe, unchanged: no dropout, a constant learning rate"),
    "dropout": Variant(
        "dropout", "does dropout 0.5 on the fully connected layers (the VGG paper's) stop the overfitting after epoch 10?",
        vgg_changes=(("dropout", 0.5),), vgg_only=True,
    ),
    "longer": Variant("longer", "does a net that was still converging gain from twice the epochs?", epochs_factor=2),
    "step": Variant("step", "does a step decay (the learning rate divided by 10 at 1/2 and 3/4 of the epochs) help?",
                    (("schedule", "step"),)),
    "cosine": Variant("cosine", "does a cosine decay of the learning rate to zero help, and calm the last epochs?",
                      (("schedule", "cosine"),)),
    "improved": Variant(
        "improved", "what the other variants suggest together: a cosine schedule over twice the epochs, and FC dropout for VGG",
        (("schedule", "cosine"),), epochs_factor=2, vgg_changes=(("dropout", 0.5),),
    ),
}  # fmt: skip


@dataclass(frozen=True)
class Question:
    """One of the lab's open questions: the faithful recipe against the variant that answers it, on one split and seed."""

    name: str
    variant: str  # the recipe variant (VARIANTS) compared with the faithful "lab" recipe
    labs: tuple[str, ...]  # the notebooks (by their model) that ask it
    suggestion: str  # what the reference lab or the papers suggested, which the runs answer


QUESTIONS = {
    "dropout": Question(
        "dropout", "dropout", ("vgg16",),
        "VGG16's test accuracy converged around epoch 10 and then slipped from overfitting, so dropout on the "
        "fully connected layers alone should help",
    ),
    "longer": Question(
        "longer", "longer", ("resnet50",),
        "ResNet50 was still converging at epoch 15 and slightly underfitting, so more epochs should help",
    ),
    "schedule": Question(
        "schedule", SCHEDULE_VARIANT, ("vgg16", "resnet50"),
        "both papers decayed the learning rate, which the lab left out, so a schedule should help",
    ),
    "improved": Question(
        "improved", "improved", ("vgg16", "resnet50"),
        "together, the changes that answer the other questions should beat the faithful recipe",
    ),
}  # fmt: skip
SWING_EPOCHS = 5  # a run's final-epoch swing: the standard deviation of its last five epochs' test accuracy
# What the improved recipe aims at on the full profile, for both models on the lab's three classes.
GOAL_TEST_ACC = 0.96
GOAL_SWING = 0.005


def questions_of(model: str) -> tuple[str, ...]:
    """The open questions that a lab's notebook asks."""
    return tuple(name for name, question in QUESTIONS.items() if model.lower() in question.labs)


def question_variants(model: str) -> tuple[str, ...]:
    """The recipe variants a notebook's questions train: the faithful recipe first, each other once."""
    return ("lab", *dict.fromkeys(QUESTIONS[name].variant for name in questions_of(model)))


def questions_skipped(model: str, profile: str | Profile | None = None) -> str | None:
    """Why ``profile`` does not ask ``model``'s open questions, with what asking them would cost; None when it does."""
    chosen = get_profile(profile)
    why = dict(chosen.questions_skipped).get(model.lower())
    if why is None:
        return None
    lab_epochs = recipe(model, chosen).epochs
    extra = sum(question_recipe(model, variant, chosen).epochs for variant in question_variants(model)[1:])
    return (f"the {chosen.name} profile does not ask the {title(model.lower())} lab's open questions: {why}, and at "
            f"this profile's size for the lab run its variants would train {extra} more epochs, {extra / lab_epochs:.0f} "
            "times the lab run; they are asked on the full profile (a GPU), and on the smoke profile to try the code")  # fmt: skip


def question_recipe(model: str, variant: str, profile: str | Profile | None = None, **overrides: Any) -> Recipe:
    """The recipe of one variant of a notebook's open questions: at the profile's size for the questions."""
    chosen = get_profile(profile)
    return _sized_recipe(model, chosen, chosen.for_questions(model), variant, overrides)


def title(model: str) -> str:
    """The name a reader knows a model by: VGG16, ResNet50, else the builder's name."""
    return LABS[model].title if model in LABS else model


def recipe(model: str = "vgg16", profile: str | Profile | None = None, variant: str | None = None,
           **overrides: Any) -> Recipe:  # fmt: skip
    """The lab recipe for ``model``, shrunk by ``profile``, changed by ``variant``, with every non-None override applied.

    A model outside the two labs gets the VGG16 lab's recipe. Overrides win over
    the profile and the variant, so a value the caller passed is the value the run uses.
    """
    chosen = get_profile(profile)
    return _sized_recipe(model, chosen, chosen.for_model(model.lower()), variant, overrides)


def _sized_recipe(model: str, profile: Profile, scale: Scale, variant: str | None, overrides: dict[str, Any]) -> Recipe:
    key = model.lower()
    base = LABS[key].recipe if key in LABS else replace(VGG16, model=key)
    shrunk = replace(base, profile=profile.name, **_scale_changes(scale))
    return recipe_with(shrunk, get_variant(variant).applied(shrunk), overrides)


def get_variant(name: str | None) -> Variant:
    """A recipe variant by name; None is the faithful lab recipe."""
    if name is None:
        return VARIANTS["lab"]
    if name not in VARIANTS:
        raise ValueError(f"unknown recipe {name!r}; use one of {', '.join(VARIANTS)}")
    return VARIANTS[name]


def recipe_with(base: Recipe, changes: dict[str, Any], overrides: dict[str, Any]) -> Recipe:
    """``base`` with a profile's ``changes``, then every non-None override (which wins)."""
    known = {field.name for field in fields(Recipe)}
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise ValueError(f"unknown recipe setting(s) {', '.join(unknown)}; known settings: {', '.join(sorted(known))}")
    changes = {**changes, **{name: value for name, value in overrides.items() if value is not None}}
    return replace(base, **changes)


def model_depth(model: str) -> int:
    """The depth in a model's name (vgg16, resnet56, plain20): pairs a plain net with its residual twin."""
    digits = "".join(character for character in model if character.isdigit())
    if not digits:
        raise ValueError(f"model name {model!r} holds no depth")
    return int(digits)


def _scale_changes(scale: Scale) -> dict[str, Any]:
    return {name: getattr(scale, name) for name in ("epochs", "per_class", "test_per_class") if getattr(scale, name) is not None}


def experiments_of(model: str) -> tuple[str, ...]:
    """The experiments that a lab's notebook holds."""
    return tuple(name for name, experiment in EXPERIMENTS.items() if experiment.lab == model)


def experiment_parameter(name: str) -> str:
    """The notebook parameter that switches an experiment off (False)."""
    return f"{name}_experiment"


def experiment_recipe(name: str, model: str, profile: str | Profile | None = None, **overrides: Any) -> Recipe:
    """The recipe of one model of an experiment: its lab's recipe at the profile's size for the experiment."""
    experiment = EXPERIMENTS[name]
    chosen = get_profile(profile)
    base = replace(LABS[experiment.lab].recipe, model=model.lower(), profile=chosen.name)
    return recipe_with(base, _scale_changes(chosen.for_experiment(name)), overrides)


# --------------------------------------------------------------------------- a run's folder

CHECKPOINT = "checkpoint.pt"
HISTORY = "history.json"
FIGURES = ("curves", "predictions", "confusion")
FIGURE_FILES = {name: f"{name}.png" for name in FIGURES}
EXPERIMENT_RESULTS = "results.json"  # in an experiment's folder: every row it measured, and each model's history
QUESTIONS_FOLDER = "questions"  # in a lab's run folder: its open questions' results.json and one figure per question
QUESTIONS_UNFINISHED = "unfinished-questions"  # in the questions' folder until they end: each finished variant, the running one's checkpoint
PREDICTIONS = "test_predictions.json"  # each test image's label and prediction, to compare models image by image
RUN_FILES = (HISTORY, PREDICTIONS, *FIGURE_FILES.values())
FIGURE_DPI = 110
