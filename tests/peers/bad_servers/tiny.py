"""A well-behaved minimal MCP server (one `echo` tool), for tests that need
many cheap servers at once. See mcp_stub.py."""
import mcp_stub

mcp_stub.serve("tiny")
