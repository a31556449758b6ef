import sys
from pathlib import Path

# golden_yaml.py is a helper module beside these tests.
sys.path.insert(0, str(Path(__file__).parent))
