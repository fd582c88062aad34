"""Conversation backends: the Assistants API and the Responses + Conversations APIs."""
