import pytest

from labkit import profiles


def test_profile_comes_from_argument_then_environment_then_full(monkeypatch):
    monkeypatch.delenv("LABKIT_PROFILE", raising=False)
    assert profiles.get_profile().name == "full"
    monkeypatch.setenv("LABKIT_PROFILE", "smoke")
    assert profiles.get_profile().name == "smoke"
    assert profiles.get_profile("quick").name == "quick"


def test_unknown_profile_lists_the_known_ones():
    with pytest.raises(ValueError, match="unknown profile 'fast'.*full, quick, smoke"):
        profiles.get_profile("fast")


def test_full_profile_keeps_the_notebook_parameters():
    settings = profiles.lab_settings("vgg16", 20, 128, 0.01, per_class=None, profile="full")
    assert (settings.epochs, settings.per_class, settings.test_per_class) == (20, None, None)
    assert settings.fit_arguments()["epochs"] == 20 and settings.fit_arguments()["lr"] == 0.01


@pytest.mark.parametrize("name", ["quick", "smoke"])
def test_reduced_profiles_replace_epochs_and_limits_only(name):
    profile = profiles.PROFILES[name]
    settings = profiles.lab_settings("resnet50", 15, 64, 0.05, seed=7, profile=name)
    assert (settings.epochs, settings.per_class, settings.test_per_class) == (
        profile.epochs, profile.per_class, profile.test_per_class,
    )  # fmt: skip
    assert (settings.batch_size, settings.lr, settings.seed) == (64, 0.05, 7)
    assert settings.fit_arguments()["info"]["profile"] == name


def test_quick_profile_keeps_the_full_test_split():
    assert profiles.PROFILES["quick"].test_per_class is None


def test_settings_table_shows_the_values_used():
    table = profiles.lab_settings("vgg16", 20, 128, 0.01, profile="smoke").markdown()
    assert "| epochs | 1 |" in table and "8 per class" in table and "0.4914" in table
