"""The Qt layer: widgets that show and edit a Project and drive app.core through workers."""
