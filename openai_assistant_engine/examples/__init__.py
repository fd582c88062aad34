"""Example tool classes for openai_assistant_engine's function calling."""
