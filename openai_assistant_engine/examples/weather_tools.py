"""An example tool class: weather look-ups an assistant can call.

Register it on an assistant record (and allow the module with the setting
``function_module_allowlist=openai_assistant_engine.examples.weather_tools``)::

    functions = [
        {
            "module_name": "openai_assistant_engine.examples.weather_tools",
            "class_name": "WeatherTools",
            "function_name": "get_weather",
            "configuration": {"default_unit": "fahrenheit"},
        },
    ]

The engine builds ``WeatherTools(logger, **configuration)`` once per configuration (the
assistant's ``function_configuration`` overlaid by the entry's own) and calls
``get_weather(**arguments)`` with the arguments the model sent. Whatever the method
returns is sent back to the model as JSON; an exception becomes an error output the model
can read, so the conversation goes on.

The answers come from canned data (``observations`` in the configuration, or the samples
below), so the example runs offline.
"""

from __future__ import annotations

import logging
from typing import Any, Literal

__all__ = ["SAMPLE_OBSERVATIONS", "WeatherTools"]

Unit = Literal["celsius", "fahrenheit"]

# City -> current conditions, temperatures in degrees Celsius.
SAMPLE_OBSERVATIONS: dict[str, dict[str, Any]] = {
    "paris": {"temperature": 18.0, "condition": "partly cloudy", "humidity": 62},
    "tokyo": {"temperature": 24.5, "condition": "clear", "humidity": 55},
    "new york": {"temperature": 12.0, "condition": "light rain", "humidity": 80},
    "sydney": {"temperature": 21.0, "condition": "sunny", "humidity": 48},
}


class WeatherTools:
    """Current weather and short forecasts for a fixed set of cities.

    Configuration keys (all optional):
        observations: ``{city: {"temperature": celsius, "condition": str, "humidity": %}}``.
        default_unit: ``"celsius"`` (default) or ``"fahrenheit"``.
    """

    def __init__(self, logger: logging.Logger, **configuration: Any) -> None:
        self._logger = logger
        observations = configuration.get("observations") or SAMPLE_OBSERVATIONS
        self._observations = {city.lower(): dict(data) for city, data in observations.items()}
        self._default_unit: Unit = configuration.get("default_unit", "celsius")

    def get_weather(self, city: str, unit: Unit | None = None) -> dict[str, Any]:
        """Get the current weather in a city.

        Args:
            city: The city name, for example "Paris" or "New York".
            unit: The temperature unit of the answer; the configured default when omitted.
        """
        observation = self._lookup(city)
        unit = unit or self._default_unit
        if unit not in ("celsius", "fahrenheit"):
            raise ValueError(f"unit must be 'celsius' or 'fahrenheit', got {unit!r}")
        self._logger.info("Weather asked for %s in %s", city, unit)
        return {
            "city": city,
            "temperature": _convert(observation["temperature"], unit),
            "unit": unit,
            "condition": observation["condition"],
            "humidity": observation["humidity"],
        }

    def get_forecast(self, city: str, days: int = 3) -> list[dict[str, Any]]:
        """Get a simple daily forecast for a city.

        Args:
            city: The city name.
            days: How many days ahead, from 1 to 7.
        """
        if not 1 <= days <= 7:
            raise ValueError(f"days must be between 1 and 7, got {days}")
        observation = self._lookup(city)
        unit = self._default_unit
        return [
            {
                "day": day,
                "high": _convert(observation["temperature"] + 2 + day % 2, unit),
                "low": _convert(observation["temperature"] - 5 - day % 3, unit),
                "unit": unit,
                "condition": observation["condition"],
            }
            for day in range(1, days + 1)
        ]

    def _lookup(self, city: str) -> dict[str, Any]:
        observation = self._observations.get(city.strip().lower())
        if observation is None:
            known = ", ".join(sorted(self._observations))
            raise LookupError(f"no weather data for {city!r}; known cities: {known}")
        return observation


def _convert(celsius: float, unit: Unit) -> float:
    if unit == "fahrenheit":
        return round(celsius * 9 / 5 + 32, 1)
    return round(celsius, 1)
