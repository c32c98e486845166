"""Shared test set-up for level 2: hypothesis without shrinking (a fresh skeleton fails at once)."""

from hypothesis import Phase, settings

settings.register_profile("hyperion", phases=(Phase.explicit, Phase.reuse, Phase.generate), deadline=None)
settings.load_profile("hyperion")
