"""The book's build steps (issue 25): executed notebooks cached by source, offline figures, exercises, the build."""
