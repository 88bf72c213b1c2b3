"""Package data: the sandbox image's build context, installed as ``agent._bundle.sandbox_image``.

The image is built from a copy of these files in the user's cache (agent/sandbox/_files.py); this
file itself never enters the image.
"""
