"""Arrays to clips: layouts, value ranges, optical-flow rendering, grids and sample clips."""
