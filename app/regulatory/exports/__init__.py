"""Charts and documents of stored plans: timeline SVG/PNG, comparison, md/html/pdf/docx."""
