"""nst.errors: friendly messages, codes, pickling."""
from __future__ import annotations

import pickle

from nst.errors import ImageError, ModelError, NstError, StyleNotFound


def test_error_classes() -> None:
    err = NstError("Friendly sentence.", code="x", detail="tech")
    assert str(err) == "Friendly sentence." and err.user_message == "Friendly sentence."
    assert err.code == "x" and err.detail == "tech"
    assert NstError("m").code == "error"
    assert issubclass(ImageError, NstError) and issubclass(StyleNotFound, NstError)
    assert issubclass(ModelError, NstError)
    assert StyleNotFound("nope").code == "style_not_found"
    assert ModelError("broken").code == "model"
    assert ImageError("bad", code="corrupt").code == "corrupt"
    for cls in (NstError, ImageError, StyleNotFound, ModelError):
        assert cls().user_message  # every class has a friendly default
    clone = pickle.loads(pickle.dumps(ImageError("bad", code="too_big", detail="d")))
    assert (type(clone), clone.user_message, clone.code, clone.detail) == (ImageError, "bad", "too_big", "d")
